import type { Provider } from '../providers/index.js';
import type { LinkResult, Replicator } from './replicator.js';
import { REPLICATED_TABLES } from './tables.js';

export interface LinkStatus {
  source: string;
  target: string;
  table: string;
  /** Rows changed on the source that the target has not applied yet. */
  lagRows: number;
  /** Seconds since the link last moved while rows wait (0 when caught up). */
  lagSeconds: number;
  appliedTotal: number;
  lastAppliedAt: string | null;
}

/** Every ordered pair of providers: each is a source and a target. */
function links(providers: Provider[]): [Provider, Provider][] {
  return providers.flatMap((source) => providers.filter((t) => t !== source).map((target) => [source, target] as [Provider, Provider]));
}

/**
 * Replicate every link, pass after pass, until a pass applies nothing (at most
 * `maxPasses`). Rows a target receives are changes there too (so they can travel
 * on if their origin is lost); the next pass carries those echoes, which apply
 * as no-ops, and the links are then caught up.
 */
export async function runSync(
  providers: Provider[],
  replicator: Replicator,
  onLink?: (result: LinkResult) => void,
  maxPasses = 5,
): Promise<LinkResult[]> {
  const results: LinkResult[] = [];
  for (let pass = 0; pass < maxPasses; pass++) {
    let applied = 0;
    for (const [source, target] of links(providers)) {
      for (const result of await replicator.sync(source, target)) {
        results.push(result);
        applied += result.applied;
        onLink?.(result);
      }
    }
    if (!applied) break;
  }
  return results;
}

export async function syncStatus(providers: Provider[], schema: string): Promise<LinkStatus[]> {
  const out: LinkStatus[] = [];
  for (const [source, target] of links(providers)) {
    const { rows: marks } = await target.query<{ table_name: string; position: string; rows_total: string; updated_at: Date }>(
      `SELECT table_name, position::text AS position, rows_total::text AS rows_total, updated_at FROM ${schema}.replication_watermarks WHERE source = $1`,
      [source.name],
    );
    for (const table of REPLICATED_TABLES) {
      const mark = marks.find((m) => m.table_name === table.name);
      const { rows } = await source.query<{ n: string }>(
        `SELECT count(*)::text AS n FROM ${schema}.${table.name} WHERE change_xid >= $1::xid8`,
        [mark?.position ?? '0'],
      );
      const lagRows = Number(rows[0]?.n ?? 0);
      const last = mark ? new Date(mark.updated_at) : null;
      out.push({
        source: source.name,
        target: target.name,
        table: table.name,
        lagRows,
        lagSeconds: lagRows && last ? Math.round((Date.now() - last.getTime()) / 100) / 10 : lagRows ? Number.NaN : 0,
        appliedTotal: Number(mark?.rows_total ?? 0),
        lastAppliedAt: last?.toISOString() ?? null,
      });
    }
  }
  return out;
}
