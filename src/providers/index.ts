export { classifyFailure, type FailureClass, isConnectionFailure, toProviderError } from './classify.js';
export { EmbeddedProvider } from './embedded-provider.js';
export { type ExecutionContext, type ExecutionOptions, type Executor, runOn } from './executor.js';
export { PgProvider } from './pg-provider.js';
export { embeddedDefault, openProvider, type ProviderSelection, ProviderSet } from './provider-set.js';
export { applySessionSettings, inTransaction } from './transaction.js';
export type {
  ConnectionOptions,
  PoolStats,
  Provider,
  ProviderDescription,
  ProviderKind,
  Queryable,
  QueryOptions,
  QueryResult,
} from './types.js';
