import type { Provider } from '../providers/index.js';
import { allTenantConnections } from '../replication/index.js';

export interface HistoryPruneResult {
  provider: string;
  /** Changes older than the cutoff (deleted, or that would be with dryRun). */
  pruned: number;
  cutoff: string;
}

/**
 * Drop changes older than the retention window from every provider's change
 * history, by one cutoff time for all of them, so the copies stay equal
 * (history rows are a log: never tombstoned, deleted where they are). A
 * provider that is down keeps its old changes until the next run.
 */
export async function pruneHistory(
  providers: Provider[],
  schema: string,
  options: { retentionDays: number; dryRun?: boolean; now?: Date },
): Promise<HistoryPruneResult[]> {
  const cutoff = new Date((options.now ?? new Date()).getTime() - options.retentionDays * 86_400_000);
  const results: HistoryPruneResult[] = [];
  for (const provider of await allTenantConnections(providers, schema)) {
    const sql = options.dryRun
      ? `SELECT count(*)::int AS n FROM ${schema}.change_history WHERE changed_at < $1`
      : `WITH gone AS (DELETE FROM ${schema}.change_history WHERE changed_at < $1 RETURNING 1) SELECT count(*)::int AS n FROM gone`;
    const { rows } = await provider.query<{ n: number }>(sql, [cutoff], { timeoutMs: 600_000 });
    results.push({ provider: provider.name, pruned: Number(rows[0]?.n ?? 0), cutoff: cutoff.toISOString() });
  }
  return results;
}
