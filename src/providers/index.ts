export { classifyFailure, type FailureClass, isConnectionFailure, toProviderError } from './classify.js';
export { EmbeddedProvider } from './embedded-provider.js';
export type { ExecutionContext, Executor } from './executor.js';
export { PgProvider } from './pg-provider.js';
export { embeddedDefault, openProvider, type ProviderSelection, ProviderSet } from './provider-set.js';
export { inTransaction } from './transaction.js';
export type { PoolStats, Provider, ProviderDescription, ProviderKind, Queryable, QueryOptions, QueryResult } from './types.js';
