import { HybridLogicalClock } from '../core/hlc.js';
import type { Provider } from '../providers/index.js';
import { allTenantConnections } from './anti-entropy.js';
import { type LinkResult, type Replicator, serverIdentity, sourceChange } from './replicator.js';
import { REPLICATED_TABLES } from './tables.js';

export interface LinkStatus {
  source: string;
  target: string;
  table: string;
  /** Rows changed on the source that the target has not applied yet. */
  lagRows: number;
  /** Seconds since the oldest waiting row that originated on the source was written (0 when caught up). */
  lagSeconds: number;
  oldestWaitingAt: string | null;
  appliedTotal: number;
  lastAppliedAt: string | null;
  /**
   * Set when the source is another server than the watermark was recorded for
   * (restored or replaced): the next run re-captures everything from it, and
   * lagRows counts all of it.
   */
  sourceChanged: string | null;
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
    // Targets in parallel, each target's sources one after another: two links
    // never write into the same database at once (no lock-order deadlocks between
    // them), and a pass takes about as long as the slowest target's links.
    const perTarget = await Promise.all(
      providers.map(async (target) => {
        const got: LinkResult[] = [];
        for (const source of providers) {
          if (source === target) continue;
          for (const result of await replicator.sync(source, target)) {
            got.push(result);
            onLink?.(result);
          }
        }
        return got;
      }),
    );
    const passResults = perTarget.flat();
    results.push(...passResults);
    if (!passResults.some((r) => r.applied)) break;
  }
  return results;
}

/**
 * Lag per link and table. Seconds are measured from the change time (the HLC
 * wall time of the oldest waiting row that originated on the source) to now;
 * waiting rows that originated elsewhere are echoes, already held by their
 * origin, and count in rows but not in seconds.
 */
export async function syncStatus(all: Provider[], schema: string): Promise<LinkStatus[]> {
  const providers = await allTenantConnections(all, schema);
  const out: LinkStatus[] = [];
  for (const [source, target] of links(providers)) {
    const { rows: marks } = await target.query<{
      table_name: string;
      position: string;
      rows_total: string;
      updated_at: Date;
      source_system: string | null;
    }>(
      `SELECT table_name, position::text AS position, rows_total::text AS rows_total, updated_at, source_system
         FROM ${schema}.replication_watermarks WHERE source = $1`,
      [source.name],
    );
    const system = await serverIdentity(source);
    const { rows: snapshot } = await source.query<{ xmax: string }>('SELECT pg_snapshot_xmax(pg_current_snapshot())::text AS xmax');
    for (const table of REPLICATED_TABLES) {
      const mark = marks.find((m) => m.table_name === table.name);
      const changed = mark ? sourceChange({ position: mark.position, system: mark.source_system }, system, snapshot[0]?.xmax) : undefined;
      const { rows } = await source.query<{ n: string; oldest: string | null }>(
        `SELECT count(*)::text AS n, min(version) FILTER (WHERE origin = $2)::text AS oldest
           FROM ${schema}.${table.name} WHERE change_xid >= $1::xid8`,
        [changed ? '0' : (mark?.position ?? '0'), source.name],
      );
      const lagRows = Number(rows[0]?.n ?? 0);
      const oldest = rows[0]?.oldest ? HybridLogicalClock.wallTime(BigInt(rows[0].oldest)) : null;
      out.push({
        source: source.name,
        target: target.name,
        table: table.name,
        lagRows,
        lagSeconds: oldest ? Math.max(0, Math.round((Date.now() - oldest.getTime()) / 100) / 10) : 0,
        oldestWaitingAt: oldest?.toISOString() ?? null,
        appliedTotal: Number(mark?.rows_total ?? 0),
        lastAppliedAt: mark ? new Date(mark.updated_at).toISOString() : null,
        sourceChanged: changed ?? null,
      });
    }
  }
  return out;
}
