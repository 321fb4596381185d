/**
 * agentmem — the library entry. A deliberate, small public API: config,
 * providers, the migrator, status, and the error classes.
 */
export * from './config/index.js';
export * from './errors/index.js';
export * from './memory/index.js';
export { createLogger } from './observability/logger.js';
export { type ProviderStatus, type SystemStatus, systemStatus } from './ops/status.js';
export * from './providers/index.js';
export * from './replication/index.js';
export * from './schema/index.js';
