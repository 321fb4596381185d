/**
 * agentmem/ops — operating agentmem: health, verify, the monitor, alerts and
 * SLA; replication, verification and repair between providers; migrations,
 * schema drift and the table registry; providers and the router; the legacy
 * import and credential rotation; backups, restores, retention and erasure.
 * A chosen surface, named here one by one (a test holds it to this list):
 * the memory API is in `agentmem`, the building blocks beneath these stay
 * inside the package.
 *
 * @example
 * import { checkHealth, ProviderSet } from 'agentmem/ops';
 * import { loadConfig } from 'agentmem';
 * const config = await loadConfig();
 * const providers = ProviderSet.fromConfig(config);
 * const report = await checkHealth(config, providers);
 * await providers.close();
 */
export {
  type AsOfRestoreOptions,
  applyPrune,
  type BackupEntry,
  type BackupListing,
  type BackupStore,
  backupKeyFromEnv,
  type CreateBackupOptions,
  checkRestorable,
  createBackup,
  type HistoryPruneResult,
  LocalStore,
  listBackups,
  type Manifest,
  type ProgressListener,
  type PrunePlan,
  planPrune,
  pruneHistory,
  type RestoreMode,
  type RestoreOptions,
  type RestoreReport,
  type RestoreScope,
  restoreAsOf,
  restoreBackup,
  S3Store,
  type TransferProgress,
  type Verification,
  verifyBackup,
} from '../backup/index.js';
export {
  type AgentmemConfig,
  CONFIG_DEFAULTS,
  type LoadConfigOptions,
  loadConfig,
  type ProviderConfig,
  type ResolvedProvider,
  redact,
  redactUrl,
  type Timeouts,
} from '../config/index.js';
export {
  applyErasures,
  type Erasure,
  loadSigningKey,
  publicKeyOf,
  readLedger,
  type SignedReport,
  verifyReport,
} from '../erasure/index.js';
export {
  importLegacy,
  type LegacyImportReport,
} from '../import/legacy/importer.js';
export {
  importAtoms,
  LocalHashEmbedder,
  OpenAIEmbedder,
} from '../memory/index.js';
export { createLogger } from '../observability/logger.js';
export {
  type BreakerState,
  DirectExecutor,
  EmbeddedProvider,
  type ExecutionContext,
  type ExecutionOptions,
  type Executor,
  PgProvider,
  type PoolStats,
  PrimaryExecutor,
  type Provider,
  type ProviderDescription,
  type ProviderKind,
  type ProviderSelection,
  ProviderSet,
  type Queryable,
  type QueryResult,
  Router,
  type RouterEvent,
  type RouterHooks,
  type RouterOptions,
  readRecentEvents,
  routerOptions,
  type StampedRouterEvent,
  type WriteToken,
} from '../providers/index.js';
export {
  type BucketDiff,
  type LinkResult,
  type LinkStatus,
  type PurgeOptions,
  type PurgeResult,
  purgeTombstones,
  type RepairReport,
  ReplicationLoop,
  Replicator,
  type ReplicatorOptions,
  repairAndVerify,
  runSync,
  SyncAcknowledger,
  syncStatus,
  type VerifyReport,
  verifyProviders,
} from '../replication/index.js';
export {
  type AppliedMigration,
  type Catalog,
  type ColumnDef,
  type ColumnRole,
  type DriftItem,
  type DriftReport,
  type DriftSeverity,
  diffSchema,
  type FixResult,
  fixSchema,
  latestSchemaVersion,
  loadMigrations,
  type MigrateAction,
  type Migration,
  type MigrationRun,
  type MigrationStatus,
  Migrator,
  type MigratorOptions,
  migrateProviders,
  type ProviderMigrationResult,
  readCatalog,
  requireAllTenants,
  schemaOptions,
  TABLES,
  type TableCatalog,
  type TableDef,
  type TableFlags,
  type TableName,
  type TenantAccess,
  table,
  tenantAccess,
} from '../schema/index.js';
export {
  type AlertChannel,
  type AlertEvent,
  AlertmanagerChannel,
  AlertNotifier,
  type Condition,
  channelsFromConfig,
  conditionsFrom,
  type DeliveryReport,
  type NotifierOptions,
  type Severity,
  TelegramChannel,
  WebhookChannel,
} from './alerts/index.js';
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
} from './backup.js';
export { BackupScheduler } from './backup-schedule.js';
export {
  type RotationResult,
  rotateCredentials,
} from './credentials.js';
export {
  type EraseRequest,
  type ErasureReport,
  eraseSubject,
} from './erase.js';
export {
  checkHealth,
  HEALTH_EXIT,
  type HealthReport,
  type HealthState,
  type ProviderHealthReport,
} from './health.js';
export {
  HealthHistory,
  type HealthSample,
  sampleOf,
} from './health-history.js';
export { startMetricsServer } from './metrics-server.js';
export { Monitor } from './monitor.js';
export {
  policiesFor,
  type RetentionReport,
  RetentionScheduler,
  runRetention,
} from './retention-runs.js';
export {
  type CheckResult,
  tlsCheck,
  VERIFY_TENANT,
  type VerifyResult,
  verifyDeployment,
} from './self-test.js';
export {
  computeSla,
  type SlaReport,
} from './sla.js';
export {
  type ProviderStatus,
  type SystemStatus,
  systemStatus,
} from './status.js';
