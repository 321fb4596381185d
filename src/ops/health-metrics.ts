import {
  BREAKER_STATE_VALUE,
  breakerState,
  probeDuration,
  providerUp,
  recordPoolStats,
  replicationLagRows,
  replicationLagSeconds,
  tableRows,
} from '../observability/metrics.js';
import type { HealthReport } from './health.js';

/** Publish one health check as Prometheus gauges and histograms. */
export function recordHealthMetrics(report: HealthReport): void {
  for (const p of report.providers) {
    providerUp.set({ provider: p.name }, p.up ? 1 : 0);
    if (p.probeMs !== null) probeDuration.observe({ provider: p.name }, p.probeMs / 1000);
    if (p.breaker !== 'unknown') breakerState.set({ provider: p.name }, BREAKER_STATE_VALUE[p.breaker]);
    if (p.pool) recordPoolStats(p.name, p.pool);
    for (const [table, rows] of Object.entries(p.counts ?? {})) tableRows.set({ provider: p.name, table }, rows);
  }
  replicationLagSeconds.reset();
  replicationLagRows.reset();
  for (const link of report.replication?.links ?? []) {
    replicationLagSeconds.set({ source: link.source, target: link.target }, link.lagSeconds);
    replicationLagRows.set({ source: link.source, target: link.target }, link.lagRows);
  }
}
