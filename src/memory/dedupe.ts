import { contentHash } from '../core/content-hash.js';
import { tombstoneSet } from '../core/tables.js';
import type { Queryable } from '../providers/index.js';
import type { StoreContext } from './context.js';

export interface DedupeReport {
  tenant: string;
  dryRun: boolean;
  /** Memories that had no content hash (written before deduplication, or with it off) and got one. */
  hashed: number;
  /** Sets of exact duplicates found, and the memories merged into the oldest of each. */
  exact: { groups: number; merged: number };
  /** Near-duplicates (linked by duplicateOf) merged into the memory they repeat. */
  near: { merged: number };
}

class RollBack extends Error {
  constructor(readonly report: DedupeReport) {
    super('dry run');
  }
}

const HASH_BATCH = 1000;

/**
 * Merge a tenant's duplicate memories, in one transaction (a dry run rolls it
 * back): every current fact (a type in dedupe.types) gets its content hash; in each set of
 * exact duplicates (type, user, hash) and for each near-duplicate linked at
 * write time, the others merge into the oldest (keyed items, memory.items, are
 * addressed by their key and never merged) — deleted through the normal
 * path (a tombstone, its content kept in the change history, duplicateOf
 * naming the survivor), the survivor noting them in metadata.mergedFrom and
 * keeping the highest importance. Messages are never merged.
 */
export interface DedupeOptions {
  dryRun?: boolean;
  /** Progress of each step (hashing facts written before hashes, merging exact duplicates, merging near-duplicates). */
  onProgress?: (done: number, total: number, step: string) => void;
}

export async function dedupeMemories(ctx: StoreContext, options: DedupeOptions = {}): Promise<DedupeReport> {
  const progress = options.onProgress ?? (() => undefined);
  const report: DedupeReport = {
    tenant: ctx.tenant,
    dryRun: Boolean(options.dryRun),
    hashed: 0,
    exact: { groups: 0, merged: 0 },
    near: { merged: 0 },
  };
  try {
    await ctx.write('memory.dedupe', async (tx, { provider }) => {
      report.hashed = await backfillHashes(ctx, tx, provider, progress);
      const t = ctx.table('memories');
      const { rows: groups } = await tx.query<{ ids: string[] }>(
        `SELECT array_agg(id ORDER BY created_at, id) AS ids FROM ${t}
          WHERE tenant_id = $1 AND deleted_at IS NULL AND valid_to IS NULL AND content_hash IS NOT NULL AND memory_type = ANY($2)
            AND namespace IS NULL
          GROUP BY memory_type, user_id, content_hash HAVING count(*) > 1`,
        [ctx.tenant, ctx.dedupe.types],
      );
      for (const { ids } of groups) {
        const [survivor, ...others] = ids as [string, ...string[]];
        await merge(ctx, tx, survivor, others, provider);
        report.exact.groups++;
        report.exact.merged += others.length;
        progress(report.exact.groups, groups.length, 'merging exact duplicates');
      }
      // Near-duplicates whose original is still current (chains collapse onto the first).
      const { rows: links } = await tx.query<{ survivor: string; ids: string[] }>(
        `SELECT d.duplicate_of AS survivor, array_agg(d.id ORDER BY d.created_at, d.id) AS ids
           FROM ${t} d JOIN ${t} o ON o.tenant_id = d.tenant_id AND o.id = d.duplicate_of
          WHERE d.tenant_id = $1 AND d.deleted_at IS NULL AND d.duplicate_of IS NOT NULL
            AND o.deleted_at IS NULL AND o.duplicate_of IS NULL
          GROUP BY d.duplicate_of`,
        [ctx.tenant],
      );
      for (const [i, { survivor, ids }] of links.entries()) {
        await merge(ctx, tx, survivor, ids, provider);
        report.near.merged += ids.length;
        progress(i + 1, links.length, 'merging near-duplicates');
      }
      if (options.dryRun) throw new RollBack(report);
    });
  } catch (error) {
    if (!(error instanceof RollBack)) throw error;
  }
  return report;
}

/** Hashes for the tenant's current typed memories that have none (keyset batches; the write is a change like any other). */
async function backfillHashes(
  ctx: StoreContext,
  tx: Queryable,
  provider: string,
  progress: NonNullable<DedupeOptions['onProgress']>,
): Promise<number> {
  const t = ctx.table('memories');
  const missing = `tenant_id = $1 AND content_hash IS NULL AND deleted_at IS NULL AND memory_type = ANY($2) AND namespace IS NULL`;
  const { rows: counted } = await tx.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${t} WHERE ${missing}`, [
    ctx.tenant,
    ctx.dedupe.types,
  ]);
  const expected = Number(counted[0]?.n ?? 0);
  let after = '00000000-0000-0000-0000-000000000000';
  let total = 0;
  for (;;) {
    const { rows } = await tx.query<{ id: string; memory_type: string; content: unknown }>(
      `SELECT id, memory_type, content FROM ${t}
        WHERE tenant_id = $1 AND id > $2 AND content_hash IS NULL AND deleted_at IS NULL AND memory_type = ANY($3) AND namespace IS NULL
        ORDER BY id LIMIT ${HASH_BATCH}`,
      [ctx.tenant, after, ctx.dedupe.types],
    );
    if (!rows.length) return total;
    await tx.query(
      `UPDATE ${t} m SET content_hash = h.hash, version = $4, origin = $5
         FROM unnest($2::uuid[], $3::text[]) AS h(id, hash) WHERE m.tenant_id = $1 AND m.id = h.id`,
      [ctx.tenant, rows.map((r) => r.id), rows.map((r) => contentHash(ctx.tenant, r.memory_type, r.content)), ctx.version(), provider],
    );
    total += rows.length;
    progress(total, Math.max(total, expected), 'hashing facts');
    after = (rows.at(-1) as { id: string }).id;
  }
}

/** Each change of a row gets a version of its own: the history keys a change by (record, version). */
async function merge(ctx: StoreContext, tx: Queryable, survivor: string, others: string[], provider: string): Promise<void> {
  const t = ctx.table('memories');
  await tx.query(
    `UPDATE ${t} s SET importance = greatest(s.importance, o.importance),
            metadata = jsonb_set(s.metadata, '{mergedFrom}', coalesce(s.metadata->'mergedFrom', '[]'::jsonb) || to_jsonb($3::text[])),
            version = $4, origin = $5
       FROM (SELECT max(importance) AS importance FROM ${t} WHERE tenant_id = $1 AND id = ANY($3::uuid[])) o
      WHERE s.tenant_id = $1 AND s.id = $2`,
    [ctx.tenant, survivor, others, ctx.version(), provider],
  );
  await tx.query(
    `UPDATE ${t} SET duplicate_of = $2, ${tombstoneSet('memories', '$4', '$5')}
      WHERE tenant_id = $1 AND id = ANY($3::uuid[])`,
    [ctx.tenant, survivor, others, ctx.version(), provider],
  );
}
