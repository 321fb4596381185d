import type { Provider } from '../providers/index.js';
import { allTenantConnections } from './anti-entropy.js';
import { REPLICATED_TABLES, type ReplicatedTable } from './tables.js';

export interface PurgeResult {
  table: string;
  /** Tombstones older than the cut-off on the first provider. */
  candidates: number;
  /** Held by every provider at the same version, so deleted everywhere. */
  purged: number;
  /** Kept: some provider does not have the tombstone (yet), or has a newer row. */
  kept: number;
}

export interface PurgeOptions {
  /** Only tombstones deleted longer ago than this are considered. */
  olderThanMs: number;
  /** Keys checked and deleted per statement. */
  chunk?: number;
}

/**
 * Delete tombstones for good, but only those every provider holds at the same
 * version: a provider that has not received a delete yet would otherwise keep
 * (and later re-send) the live row. Deleting by (key, version) means a row
 * written again since is never touched. Needs every provider reachable.
 */
export async function purgeTombstones(all: Provider[], schema: string, options: PurgeOptions): Promise<PurgeResult[]> {
  const providers = await allTenantConnections(all, schema);
  const [first, ...others] = providers;
  if (!first) return [];
  const chunk = options.chunk ?? 5000;
  const results: PurgeResult[] = [];
  for (const table of REPLICATED_TABLES) {
    const t = `${schema}.${table.name}`;
    const { rows } = await first.query<{ k: string }>(
      `SELECT ${keyJson(table, 't')}::text AS k FROM ${t} t WHERE deleted_at IS NOT NULL AND deleted_at < now() - make_interval(secs => $1)`,
      [options.olderThanMs / 1000],
    );
    const result: PurgeResult = { table: table.name, candidates: rows.length, purged: 0, kept: 0 };
    for (let i = 0; i < rows.length; i += chunk) {
      let keys = rows.slice(i, i + chunk).map((r) => r.k);
      for (const other of others) keys = await heldAsTombstones(other, t, table, keys);
      result.kept += Math.min(chunk, rows.length - i) - keys.length;
      if (!keys.length) continue;
      for (const provider of providers) {
        const { rowCount } = await provider.query(
          `DELETE FROM ${t} t USING jsonb_populate_recordset(NULL::${t}, $1::jsonb) k
            WHERE ${match(table)} AND t.deleted_at IS NOT NULL`,
          [`[${keys.join(',')}]`],
        );
        if (provider === first) result.purged += rowCount ?? 0;
      }
    }
    results.push(result);
  }
  return results;
}

/** A row's key and version as one JSON object: what identifies a tombstone across providers. */
function keyJson(table: ReplicatedTable, alias: string): string {
  return `jsonb_build_object(${[...table.key, 'version'].map((c) => `'${c}', ${alias}.${c}`).join(', ')})`;
}

function match(table: ReplicatedTable): string {
  return [...table.key, 'version'].map((c) => `t.${c} = k.${c}`).join(' AND ');
}

/** The subset of `keys` (JSON key + version) that `provider` holds as tombstones at that version. */
async function heldAsTombstones(provider: Provider, t: string, table: ReplicatedTable, keys: string[]): Promise<string[]> {
  if (!keys.length) return keys;
  const { rows } = await provider.query<{ k: string }>(
    `SELECT ${keyJson(table, 't')}::text AS k
       FROM ${t} t JOIN jsonb_populate_recordset(NULL::${t}, $1::jsonb) k ON ${match(table)}
      WHERE t.deleted_at IS NOT NULL`,
    [`[${keys.join(',')}]`],
  );
  return rows.map((r) => r.k);
}
