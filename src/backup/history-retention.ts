import type { Provider } from '../providers/index.js';
import { allTenantConnections } from '../replication/index.js';

export interface HistoryPruneResult {
  provider: string;
  /** Changes older than the cutoff (deleted, or that would be with dryRun). */
  pruned: number;
  cutoff: string;
}

/** The tenants a change history holds: a loose index scan over (tenant_id, changed_at), one probe per tenant. */
const TENANTS_SQL = (schema: string) => `
  WITH RECURSIVE t AS (
    (SELECT tenant_id FROM ${schema}.change_history ORDER BY tenant_id LIMIT 1)
    UNION ALL
    SELECT (SELECT h.tenant_id FROM ${schema}.change_history h WHERE h.tenant_id > t.tenant_id ORDER BY h.tenant_id LIMIT 1)
      FROM t WHERE t.tenant_id IS NOT NULL)
  SELECT tenant_id FROM t WHERE tenant_id IS NOT NULL`;

/**
 * Drop changes older than the retention window from every provider's change
 * history, by one cutoff time for all of them, so the copies stay equal
 * (history rows are a log: never tombstoned, deleted where they are). A
 * provider that is down keeps its old changes until the next run. Each
 * tenant's old changes go in a statement of their own, found through the
 * (tenant, time) index, so a large history is pruned in steps that each
 * finish, with progress (tenants done of the provider's tenants).
 */
export async function pruneHistory(
  providers: Provider[],
  schema: string,
  options: {
    retentionDays: number;
    dryRun?: boolean;
    now?: Date;
    onProgress?: (done: number, total: number, step: string) => void;
  },
): Promise<HistoryPruneResult[]> {
  const cutoff = new Date((options.now ?? new Date()).getTime() - options.retentionDays * 86_400_000);
  const results: HistoryPruneResult[] = [];
  const sql = options.dryRun
    ? `SELECT count(*)::int AS n FROM ${schema}.change_history WHERE tenant_id = $1 AND changed_at < $2`
    : `WITH gone AS (DELETE FROM ${schema}.change_history WHERE tenant_id = $1 AND changed_at < $2 RETURNING 1) SELECT count(*)::int AS n FROM gone`;
  for (const provider of await allTenantConnections(providers, schema)) {
    const { rows: tenants } = await provider.query<{ tenant_id: string }>(TENANTS_SQL(schema), [], { timeoutMs: 600_000 });
    const step = `${options.dryRun ? 'counting' : 'pruning'} history on ${provider.name}`;
    let pruned = 0;
    for (const [i, { tenant_id }] of tenants.entries()) {
      const { rows } = await provider.query<{ n: number }>(sql, [tenant_id, cutoff], { timeoutMs: 600_000 });
      pruned += Number(rows[0]?.n ?? 0);
      options.onProgress?.(i + 1, tenants.length, step);
    }
    if (!tenants.length) options.onProgress?.(0, 0, step);
    results.push({ provider: provider.name, pruned, cutoff: cutoff.toISOString() });
  }
  return results;
}
