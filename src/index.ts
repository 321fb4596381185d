/**
 * agentmem — the library entry. A deliberate, small public API: config,
 * providers, the migrator, status, and the error classes.
 */
export { createMemory, type MemoryOptions } from './agentmem.js';
export * from './config/index.js';
export * from './errors/index.js';
export * from './memory/index.js';
export { createLogger } from './observability/logger.js';
/** agentmem's Prometheus registry, for an application that serves its own /metrics. */
export { registry as metricsRegistry } from './observability/metrics.js';
export * from './ops/alerts/index.js';
export { checkHealth, HEALTH_EXIT, type HealthReport, type HealthState, type ProviderHealthReport } from './ops/health.js';
export { HealthHistory, type HealthSample, sampleOf } from './ops/history.js';
export { startMetricsServer } from './ops/metrics-server.js';
export { Monitor } from './ops/monitor.js';
export { computeSla, type SlaReport } from './ops/sla.js';
export { type ProviderStatus, type SystemStatus, systemStatus } from './ops/status.js';
export { type CheckResult, tlsCheck, VERIFY_TENANT, type VerifyResult, verifyDeployment } from './ops/verify.js';
export * from './providers/index.js';
export * from './replication/index.js';
export * from './schema/index.js';
