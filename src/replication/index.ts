export {
  allTenantConnections,
  BUCKETS,
  type BucketDiff,
  bucketChecksums,
  type RepairReport,
  repairAndVerify,
  repairProviders,
  type VerifyReport,
  verifyProviders,
} from './anti-entropy.js';
export { type LinkStatus, runSync, syncStatus } from './links.js';
export { ReplicationLoop } from './loop.js';
export { type PurgeOptions, type PurgeResult, purgeTombstones } from './purge.js';
export { type ChangeRow, type LinkResult, REPLICATING, Replicator, type ReplicatorOptions } from './replicator.js';
export { SyncAcknowledger } from './sync-ack.js';
export { REPLICATED_TABLES, type ReplicatedTable, upsertSql } from './tables.js';
