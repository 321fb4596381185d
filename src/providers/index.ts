export { classifyFailure, type FailureClass, isConnectionFailure, isStatementCancelled, toProviderError } from './classify.js';
export { EmbeddedProvider, type EmbeddedSeed } from './embedded-provider.js';
export { DirectExecutor, type ExecutionContext, type ExecutionOptions, type Executor, PrimaryExecutor, runOn } from './executor.js';
export { looksPooled, PgProvider } from './pg-provider.js';
export { type BreakerOptions, type BreakerState, DEFAULT_HEALTH, ProviderHealth } from './provider-health.js';
export { embeddedDefault, type OpenOptions, openProvider, type ProviderSelection, ProviderSet } from './provider-set.js';
export { type ProviderRouteState, Router, type RouterHooks, type WriteToken } from './router.js';
export { type RouterEvent, readRecentEvents, type StampedRouterEvent } from './router-events.js';
export { DEFAULT_ROUTER, type RouterOptions, routerOptions } from './router-options.js';
export { boundedWait, Pause } from './timing.js';
export { isLocalHost, sslMode, type TlsInfo, urlHost, withTlsDefault } from './tls.js';
export { inTransaction, settingsStatement } from './transaction.js';
export type {
  BulkOptions,
  BulkSession,
  PoolStats,
  Provider,
  ProviderDescription,
  ProviderKind,
  Queryable,
  QueryOptions,
  QueryResult,
  TransactionOptions,
} from './types.js';
