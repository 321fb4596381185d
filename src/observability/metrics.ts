import { Counter, Gauge, Histogram, Registry } from 'prom-client';

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

export const driftChecksTotal = new Counter({
  name: 'agentmem_schema_drift_checks_total',
  help: "The router's schema drift checks per provider (a read of its live catalog against the expected one), by result: ok, drift (blocking) or error.",
  labelNames: ['provider', 'result'] as const,
  registers: [registry],
});

export const BREAKER_STATE_VALUE = { closed: 0, 'half-open': 1, open: 2, isolated: 3 } as const;

// Health, as the last check saw it (the monitor and `serve --metrics` run checks).

export const providerUp = new Gauge({
  name: 'agentmem_provider_up',
  help: 'Whether the provider answered its last health check (1) or not (0).',
  labelNames: ['provider'] as const,
  registers: [registry],
});

export const probeDuration = new Histogram({
  name: 'agentmem_probe_duration_seconds',
  help: 'Round trip of a health probe (SELECT 1) per provider.',
  labelNames: ['provider'] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  registers: [registry],
});

export const queryDuration = new Histogram({
  name: 'agentmem_query_duration_seconds',
  help: 'Duration of memory API operations (one logical operation = one transaction), by operation and provider.',
  labelNames: ['operation', 'provider'] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
});

export const errorsTotal = new Counter({
  name: 'agentmem_errors_total',
  help: 'Failed memory API operations by error class (the agentmem error code) and operation.',
  labelNames: ['class', 'operation'] as const,
  registers: [registry],
});

export const slowQueriesTotal = new Counter({
  name: 'agentmem_slow_queries_total',
  help: 'Memory API operations slower than monitor.slowQueryMs.',
  labelNames: ['operation', 'provider'] as const,
  registers: [registry],
});

export const replicationLagSeconds = new Gauge({
  name: 'agentmem_replication_lag_seconds',
  help: 'Age of the oldest change on the source that the target has not applied, per link.',
  labelNames: ['source', 'target'] as const,
  registers: [registry],
});

export const replicationLagRows = new Gauge({
  name: 'agentmem_replication_lag_rows',
  help: 'Changed rows on the source that the target has not applied, per link.',
  labelNames: ['source', 'target'] as const,
  registers: [registry],
});

export const sourceChangesTotal = new Counter({
  name: 'agentmem_replication_source_changes_total',
  help: 'Tables whose replication source turned out to be another server (restored or replaced) and were re-captured from the start.',
  labelNames: ['source', 'target'] as const,
  registers: [registry],
});

export const poolConnections = new Gauge({
  name: 'agentmem_pool_connections',
  help: 'Connection pool per provider: connections in use, idle, and callers waiting for one.',
  labelNames: ['provider', 'state'] as const,
  registers: [registry],
});

export const poolWaitSeconds = new Histogram({
  name: 'agentmem_pool_wait_seconds',
  help: 'How long a caller waited for a connection from a provider’s pool (saturation: a pool too small, or connections held long).',
  labelNames: ['provider'] as const,
  buckets: [0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  registers: [registry],
});

/** Publish one provider's pool statistics (router probes and health checks both do). */
export function recordPoolStats(provider: string, pool: { total: number; idle: number; waiting: number }): void {
  poolConnections.set({ provider, state: 'in_use' }, pool.total - pool.idle);
  poolConnections.set({ provider, state: 'idle' }, pool.idle);
  poolConnections.set({ provider, state: 'waiting' }, pool.waiting);
}

export const tableRows = new Gauge({
  name: 'agentmem_table_rows',
  help: 'Live rows (not deleted) per provider and table, from the last health check.',
  labelNames: ['provider', 'table'] as const,
  registers: [registry],
});

export const alertsSentTotal = new Counter({
  name: 'agentmem_alerts_sent_total',
  help: 'Alert notifications per channel and outcome (sent, failed, rate_limited).',
  labelNames: ['channel', 'outcome'] as const,
  registers: [registry],
});

export const backupLastSuccess = new Gauge({
  name: 'agentmem_backup_last_success_timestamp_seconds',
  help: 'When the last backup of a provider completed (Unix time).',
  labelNames: ['provider'],
  registers: [registry],
});

export const backupLastVerified = new Gauge({
  name: 'agentmem_backup_last_verified_timestamp_seconds',
  help: 'When the last backup of a provider that passed verification completed (Unix time).',
  labelNames: ['provider'],
  registers: [registry],
});

export const backupDuration = new Gauge({
  name: 'agentmem_backup_duration_seconds',
  help: 'How long the last backup of a provider took.',
  labelNames: ['provider'],
  registers: [registry],
});

export const backupBytes = new Gauge({
  name: 'agentmem_backup_bytes',
  help: 'Size of the last backup archive of a provider.',
  labelNames: ['provider'],
  registers: [registry],
});

export const backupRows = new Gauge({
  name: 'agentmem_backup_rows',
  help: 'Rows in the last backup archive of a provider.',
  labelNames: ['provider'],
  registers: [registry],
});

export const drillSuccess = new Gauge({
  name: 'agentmem_restore_drill_success',
  help: 'Whether the last restore drill passed (1) or failed (0).',
  registers: [registry],
});

/** The objectives themselves (backup.rpoHours, backup.rtoMinutes), so the Prometheus rules compare with what agentmem is configured for. */
export const backupRpoTarget = new Gauge({
  name: 'agentmem_backup_rpo_seconds',
  help: 'The recovery point objective: the newest verified backup should never be older (backup.rpoHours).',
  registers: [registry],
});

export const restoreRtoTarget = new Gauge({
  name: 'agentmem_restore_rto_target_seconds',
  help: 'The recovery time objective: a restore drill should finish within it (backup.rtoMinutes).',
  registers: [registry],
});

export const drillRto = new Gauge({
  name: 'agentmem_restore_drill_rto_seconds',
  help: 'How long the last restore drill took to restore the newest archive (the measured RTO).',
  registers: [registry],
});

/** Series born at 0 (a counter first seen at 1 is invisible to increase()). */
export const memoryDuplicatesTotal = new Counter({
  name: 'agentmem_memory_duplicates_total',
  help: 'Memories written again: exact (not stored twice; the existing id returned) or near (stored, linked by duplicateOf).',
  labelNames: ['kind'] as const,
  registers: [registry],
});
for (const kind of ['exact', 'near']) memoryDuplicatesTotal.inc({ kind }, 0);

export const retentionExpiredTotal = new Counter({
  name: 'agentmem_retention_expired_total',
  help: 'Memories expired by retention, per memory type and mode (soft: tombstone, content kept in history; hard: content erased).',
  labelNames: ['type', 'mode'] as const,
  registers: [registry],
});

export const erasuresTotal = new Counter({
  name: 'agentmem_erasures_total',
  help: 'Erasures carried out (agentmem erase), per subject kind.',
  labelNames: ['subject'] as const,
  registers: [registry],
});
for (const subject of ['tenant', 'user', 'session']) erasuresTotal.inc({ subject }, 0);

export const embeddingBacklog = new Gauge({
  name: 'agentmem_embedding_backlog',
  help: 'Memories and messages waiting for an embedding on the writer, as the embedding worker last counted them.',
  registers: [registry],
});

export const embeddingBacklogAge = new Gauge({
  name: 'agentmem_embedding_backlog_oldest_seconds',
  help: 'Age of the oldest memory or message waiting for an embedding (0 when none waits).',
  registers: [registry],
});

export const embeddingsTotal = new Counter({
  name: 'agentmem_embeddings_total',
  help: 'Rows the embedding worker handled, by outcome: embedded, or failed (tried again after a backoff).',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

export const formationCallsTotal = new Counter({
  name: 'agentmem_formation_calls_total',
  help: 'Language model calls of memory formation, by kind (extraction, summary), model and outcome: applied, refused (its output), failed (the call), raced (another process applied first).',
  labelNames: ['kind', 'model', 'outcome'] as const,
  registers: [registry],
});

export const formationTokensTotal = new Counter({
  name: 'agentmem_formation_tokens_total',
  help: 'Tokens the language model reported for memory formation, by kind, model and direction (input, output).',
  labelNames: ['kind', 'model', 'direction'] as const,
  registers: [registry],
});

export const formationPendingSessions = new Gauge({
  name: 'agentmem_formation_pending_sessions',
  help: 'Sessions with messages waiting for extraction or a summary on the writer, by kind, as the formation worker last counted them.',
  labelNames: ['kind'] as const,
  registers: [registry],
});
