import type { AgentmemConfig } from '../../config/index.js';
import { hint } from '../../core/commands.js';
import { type BackupFreshness, drillOverRto } from '../backup.js';
import type { HealthReport } from '../health.js';

/** info: a notice that pages nobody (a test alert); Alertmanager routes it to chat. */
export type Severity = 'critical' | 'warning' | 'info';

/** Every alert the monitor sends (as `agentmem_<name>`; docs/ops/TROUBLESHOOTING.md has a section for each). */
export const CONDITION_NAMES = [
  'provider_down',
  'all_down',
  'degraded',
  'slow_query',
  'replication_lag',
  'schema_drift',
  'backup_stale',
  'restore_drill_failed',
  'restore_drill_slow',
  'embedding_backlog',
  'test',
] as const;
export type ConditionName = (typeof CONDITION_NAMES)[number];

/** Something wrong right now. The key identifies it: one alert per key until it clears. */
export interface Condition {
  key: string;
  name: ConditionName;
  severity: Severity;
  provider?: string;
  summary: string;
}

/** The alert conditions a health check shows (and, from the monitor, the state of backups and of the embedding backlog). */
export function conditionsFrom(
  report: HealthReport,
  config: AgentmemConfig,
  backups?: BackupFreshness,
  embeddings?: { oldestSeconds: number | null; failing: number; waiting: number },
): Condition[] {
  const out: Condition[] = [];
  const down = report.providers.filter((p) => !p.up);
  if (report.state === 'down') {
    out.push({
      key: 'all_down',
      name: 'all_down',
      severity: 'critical',
      summary: 'every provider is down: agents cannot read or write memory',
    });
  } else if (report.state === 'degraded') {
    out.push({ key: 'degraded', name: 'degraded', severity: 'warning', summary: `degraded: ${report.reasons.join('; ')}` });
  }
  for (const p of down) {
    out.push({
      key: `provider_down:${p.name}`,
      name: 'provider_down',
      severity: 'critical',
      provider: p.name,
      summary: `${p.name} is down: ${p.error?.message ?? 'no answer'}`,
    });
  }
  for (const p of report.providers) {
    const ms = p.testQuery.ms;
    if (p.up && ms !== null && ms > config.monitor.slowQueryMs) {
      out.push({
        key: `slow_query:${p.name}`,
        name: 'slow_query',
        severity: 'warning',
        provider: p.name,
        summary: `${p.name}: test query took ${ms} ms (threshold ${config.monitor.slowQueryMs} ms)`,
      });
    }
    if (p.drift && p.drift.differences > 0) {
      out.push({
        key: `schema_drift:${p.name}`,
        name: 'schema_drift',
        severity: p.drift.blocking ? 'critical' : 'warning',
        provider: p.name,
        summary: `${p.name}: schema differs from the code (${p.drift.differences} difference(s)${p.drift.blocking ? ', writes blocked' : ''}); run \`agentmem schema diff --provider ${p.name}\``,
      });
    }
  }
  // One per provider that is behind (the target of its links), so a provider that is down can silence its own (Alertmanager's inhibition).
  const behind = new Map<string, { lag: number; from: string[] }>();
  for (const link of report.replication?.links ?? []) {
    if (link.lagSeconds <= config.monitor.replicationLagSeconds) continue;
    const target = behind.get(link.target) ?? { lag: 0, from: [] };
    behind.set(link.target, { lag: Math.max(target.lag, link.lagSeconds), from: [...target.from, link.source] });
  }
  for (const [provider, { lag, from }] of behind)
    out.push({
      key: `replication_lag:${provider}`,
      name: 'replication_lag',
      severity: 'warning',
      provider,
      summary: `${provider} is ${lag} s behind ${from.join(', ')} (above ${config.monitor.replicationLagSeconds} s)`,
    });
  if (backups?.stale)
    out.push({
      key: 'backup_stale',
      name: 'backup_stale',
      severity: 'critical',
      summary: backups.newestVerifiedAt
        ? `no verified backup in ${config.backup.rpoHours} h (newest verified: ${backups.newestVerifiedAt})`
        : `no verified backup at all (${backups.backups} archive(s)): run ${hint('backupCreate')}`,
    });
  if (backups?.drill && !backups.drill.ok)
    out.push({
      key: 'restore_drill_failed',
      name: 'restore_drill_failed',
      severity: 'critical',
      summary: `the restore drill of ${backups.drill.at} failed: run ${hint('backupVerify')} --restore-test`,
    });
  if (backups?.drill && drillOverRto(config, backups.drill))
    out.push({
      key: 'restore_drill_slow',
      name: 'restore_drill_slow',
      severity: 'warning',
      summary: `the restore drill of ${backups.drill.at} took ${backups.drill.rtoSeconds} s to restore, above the RTO target of ${config.backup.rtoMinutes} min (backup.rtoMinutes)`,
    });
  if (embeddings?.oldestSeconds != null && embeddings.oldestSeconds > config.recall.backlogAlertSeconds)
    out.push({
      key: 'embedding_backlog',
      name: 'embedding_backlog',
      severity: 'warning',
      summary: `${embeddings.waiting} memories and messages wait for an embedding, the oldest ${embeddings.oldestSeconds} s (above ${config.recall.backlogAlertSeconds} s; ${embeddings.failing} failing): run ${hint('embeddingsStatus')}`,
    });
  return out;
}
