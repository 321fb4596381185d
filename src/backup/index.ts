export {
  applyPrune,
  type BackupEntry,
  type BackupListing,
  listBackups,
  type PrunePlan,
  planPrune,
  type RestoreTestOptions,
  type Retention,
  verifyBackup,
} from './catalog.js';
export { type CreateBackupOptions, createBackup } from './create.js';
export { backupKeyFromEnv } from './crypto.js';
export { type HistoryPruneResult, pruneHistory } from './history-retention.js';
export type { Manifest, Sidecar, Verification } from './manifest.js';
export type { RestoreMode, RestoreScope, TableMerge } from './merge.js';
export { type AsOfRestoreOptions, restoreAsOf } from './point-in-time.js';
export type { ProgressListener, TransferProgress } from './progress.js';
export { readSidecar } from './read.js';
export { checkRestorable, type RestoreOptions, type RestoreReport, restoreBackup } from './restore.js';
export { S3Store } from './s3-store.js';
export { type BackupStore, LocalStore, type StoredObject } from './store.js';
