export { type LinkResult, Replicator, type ReplicatorOptions } from './replicator.js';
export { REPLICATED_TABLES, type ReplicatedTable } from './tables.js';
