import { Counter, Gauge, Registry } from 'prom-client';

/** agentmem's Prometheus metrics, in their own registry (exposed by `serve --metrics` / the monitor). */
export const registry = new Registry();

export const failoversTotal = new Counter({
  name: 'agentmem_failovers_total',
  help: 'Times writes moved from one provider to another (failover) or back to the primary (failback).',
  labelNames: ['kind', 'from', 'to'] as const,
  registers: [registry],
});

export const breakerState = new Gauge({
  name: 'agentmem_breaker_state',
  help: 'Circuit breaker state per provider: 0 closed, 1 half-open, 2 open, 3 isolated.',
  labelNames: ['provider'] as const,
  registers: [registry],
});

export const breakerTransitionsTotal = new Counter({
  name: 'agentmem_breaker_transitions_total',
  help: 'Circuit breaker state changes per provider and new state.',
  labelNames: ['provider', 'state'] as const,
  registers: [registry],
});

export const routedCallsTotal = new Counter({
  name: 'agentmem_routed_calls_total',
  help: 'Calls the router sent to a provider, by kind and outcome (ok, connection_error, sql_error).',
  labelNames: ['provider', 'kind', 'outcome'] as const,
  registers: [registry],
});

export const BREAKER_STATE_VALUE = { closed: 0, 'half-open': 1, open: 2, isolated: 3 } as const;
