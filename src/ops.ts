/**
 * agentmem/ops — operating agentmem: health, verify, the monitor, alerts and
 * SLA; replication, verification and repair between providers; migrations,
 * schema drift and the table registry; providers and the router; the legacy
 * import and credential rotation; backups, restores and the change history.
 *
 * @example
 * import { checkHealth, ProviderSet } from 'agentmem/ops';
 * import { loadConfig } from 'agentmem';
 * const config = await loadConfig();
 * const providers = ProviderSet.fromConfig(config);
 * const report = await checkHealth(config, providers);
 * await providers.close();
 */
export * from './backup/index.js';
export * from './config/index.js';
export {
  applyErasures,
  type Erasure,
  loadSigningKey,
  publicKeyOf,
  readLedger,
  type SignedReport,
  verifyReport,
} from './erasure/index.js';
export {
  DirectExecutor,
  importAtoms,
  LocalHashEmbedder,
  OpenAIEmbedder,
  openMemory,
  PrimaryExecutor,
  Settings,
  StoreContext,
} from './memory/index.js';
export { createLogger } from './observability/logger.js';
export * from './ops/alerts/index.js';
export {
  type BackupFreshness,
  type BackupRun,
  backupFreshness,
  backupProviders,
  knownErasures,
  openBackupStore,
  pruneBackups,
  restoreDrill,
  versionFloor,
} from './ops/backup.js';
export { BackupScheduler } from './ops/backup-schedule.js';
export { type RotationResult, rotateCredentials } from './ops/credentials.js';
export { type EraseRequest, type ErasureReport, eraseSubject } from './ops/erase.js';
export { checkHealth, HEALTH_EXIT, type HealthReport, type HealthState, type ProviderHealthReport } from './ops/health.js';
export { HealthHistory, type HealthSample, sampleOf } from './ops/history.js';
export { importLegacy, type LegacyImportReport } from './ops/legacy-import.js';
export { startMetricsServer } from './ops/metrics-server.js';
export { Monitor } from './ops/monitor.js';
export { policiesFor, type RetentionReport, RetentionScheduler, runRetention } from './ops/retention.js';
export { computeSla, type SlaReport } from './ops/sla.js';
export { type ProviderStatus, type SystemStatus, systemStatus } from './ops/status.js';
export { type CheckResult, tlsCheck, VERIFY_TENANT, type VerifyResult, verifyDeployment } from './ops/verify.js';
export * from './providers/index.js';
export * from './replication/index.js';
export * from './schema/index.js';
