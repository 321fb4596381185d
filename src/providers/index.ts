export { classifyFailure, type FailureClass, isConnectionFailure, toProviderError } from './classify.js';
export { EmbeddedProvider } from './embedded-provider.js';
export { type ExecutionContext, type ExecutionOptions, type Executor, runOn } from './executor.js';
export { PgProvider } from './pg-provider.js';
export { type BreakerState, DEFAULT_HEALTH, type HealthOptions, ProviderHealth } from './provider-health.js';
export { embeddedDefault, openProvider, type ProviderSelection, ProviderSet } from './provider-set.js';
export {
  DEFAULT_ROUTER,
  type ProviderRouteState,
  Router,
  type RouterEvent,
  type RouterOptions,
  readRecentEvents,
  routerOptions,
  type WriteToken,
} from './router.js';
export { boundedWait, Pause } from './timing.js';
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
