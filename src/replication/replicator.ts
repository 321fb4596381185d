import { clock } from '../core/hlc.js';
import { KeyedMutex } from '../core/keyed-mutex.js';
import type { Provider, Queryable } from '../providers/index.js';
import { requireAllTenants } from '../schema/index.js';
import { REPLICATED_TABLES, type ReplicatedTable } from './tables.js';

export interface LinkResult {
  source: string;
  target: string;
  table: string;
  applied: number;
  batches: number;
  /** The source change position everything below which is now on the target. */
  position: string;
  /**
   * An HLC time (as a decimal string) such that every write this process saw
   * acknowledged on the source before it is now on the target; null when this
   * run cannot vouch for any. Read-your-writes routing uses it.
   */
  coveredAt: string | null;
}

/** One changed row as the source printed it (JSON text), and its version. */
export interface ChangeRow {
  json: string;
  version: string;
}

export interface ReplicatorOptions {
  schema: string;
  /** Rows per batch read from a source. */
  batchSize?: number;
  /** Batches per link per run, so one run is bounded. */
  maxBatches?: number;
}

/**
 * Copies changes between providers without superuser rights or replication
 * slots. Change capture: every versioned write sets `change_xid` to its
 * transaction id (trigger). A source is read only below the oldest transaction
 * still running there (`pg_snapshot_xmin(pg_current_snapshot())`), so a long
 * transaction that commits after later ones is never skipped. Apply: an upsert
 * that keeps the higher (version, origin); the target's watermark for the
 * source moves in the same transaction as the rows it covers, and only forward.
 */
export class Replicator {
  private readonly batchSize: number;
  private readonly maxBatches: number;
  /** Per link and table, reads whose transaction-id bound the link's position has not passed yet (oldest first). */
  private readonly pendingReads = new Map<string, { stamp: bigint; xmax: bigint }[]>();
  /** Per link and table, the newest HLC time before which every acknowledged write is on the target. */
  private readonly coverage = new Map<string, bigint>();
  /**
   * Runs into one target, one at a time in this process (the background loop,
   * sync acknowledgements, catch-up): two of them upserting the same rows in
   * another order could deadlock, and a link's read/position bookkeeping must
   * not interleave with itself.
   */
  private readonly intoTarget = new KeyedMutex();

  constructor(private readonly options: ReplicatorOptions) {
    this.batchSize = options.batchSize ?? 1000;
    this.maxBatches = options.maxBatches ?? 1000;
  }

  /** Replicate every table from `source` to `target`. */
  async sync(source: Provider, target: Provider): Promise<LinkResult[]> {
    const results: LinkResult[] = [];
    for (const table of REPLICATED_TABLES) results.push(await this.syncTable(source, target, table));
    return results;
  }

  syncTable(source: Provider, target: Provider, table: ReplicatedTable): Promise<LinkResult> {
    // The direct connections: replication must see every tenant (row-level security would hide rows).
    return this.intoTarget.run(target.name, () => this.syncTableNow(source.direct(), target.direct(), table));
  }

  /**
   * The HLC time before which every write acknowledged on `source` (as this
   * process saw it) is on `target`, in every table; 0 when unknown.
   */
  covered(source: string, target: string): bigint {
    let oldest: bigint | undefined; // bigints: Math.min does not apply
    for (const table of REPLICATED_TABLES) {
      const at = this.coverage.get(`${source}>${target}>${table.name}`) ?? 0n;
      if (oldest === undefined || at < oldest) oldest = at;
    }
    return oldest ?? 0n;
  }

  private async syncTableNow(source: Provider, target: Provider, table: ReplicatedTable): Promise<LinkResult> {
    // A role that sees only some tenants would copy nothing and still move the watermark past what it missed.
    await requireAllTenants(source, this.options.schema);
    await requireAllTenants(target, this.options.schema);
    const result: LinkResult = {
      source: source.name,
      target: target.name,
      table: table.name,
      applied: 0,
      batches: 0,
      position: '0',
      coveredAt: null,
    };
    let position = await this.watermark(target, source.name, table.name);
    // Each read notes the HLC time just before it and the source's next transaction id then. Every
    // transaction acknowledged before that time has a smaller id, so once the link's position
    // passes that id (in this run or a later one), everything acknowledged before then is on the target.
    const key = `${source.name}>${target.name}>${table.name}`;
    const reads = this.pendingReads.get(key) ?? [];
    this.pendingReads.set(key, reads);
    for (let batch = 0; batch < this.maxBatches; batch++) {
      const stamp = clock.now();
      const { rows, next, more, xmax } = await this.readChanges(source, table, position);
      if (xmax !== undefined) reads.push({ stamp, xmax: BigInt(xmax) });
      if (next === position && rows.length === 0) break;
      const applied = await this.apply(target, source.name, table, rows, next);
      result.applied += applied;
      result.batches++;
      position = next;
      if (!more) break;
    }
    result.position = position;
    const reached = BigInt(position);
    let covered: bigint | undefined;
    while (reads[0] && reads[0].xmax <= reached) covered = reads.shift()?.stamp;
    if (reads.length > 256) reads.splice(0, reads.length - 256);
    result.coveredAt = covered === undefined ? null : covered.toString();
    if (covered !== undefined && covered > (this.coverage.get(key) ?? 0n)) this.coverage.set(key, covered);
    return result;
  }

  /** The target's watermark for (source, table); '0' when nothing was applied yet. */
  async watermark(target: Provider, source: string, table: string): Promise<string> {
    const { rows } = await target.direct().query<{ position: string }>(
      `SELECT position::text AS position FROM ${this.options.schema}.replication_watermarks WHERE source = $1 AND table_name = $2`,
      [source, table],
    );
    return rows[0]?.position ?? '0';
  }

  /**
   * Changes at or above `from` and below the source's horizon (its oldest
   * running transaction), in change order. A batch ends on a transaction
   * boundary, so a transaction's rows are never split between two batches.
   */
  async readChanges(
    source: Provider,
    table: ReplicatedTable,
    from: string,
  ): Promise<{ rows: ChangeRow[]; next: string; more: boolean; xmax?: string }> {
    const t = `${this.options.schema}.${table.name}`;
    // Rows travel as JSON text, never parsed here: a bigint version must not pass through a JS number.
    const { rows } = await source.query<{ xid: string; horizon: string; xmax: string; row: string; version: string }>(
      `WITH h AS (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS horizon, pg_snapshot_xmax(pg_current_snapshot()) AS xmax)
       SELECT c.change_xid::text AS xid, h.horizon::text AS horizon, h.xmax::text AS xmax, c.version::text AS version,
              (to_jsonb(c) - 'search' - 'change_xid')::text AS row
         FROM ${t} c, h
        WHERE c.change_xid >= $1::xid8 AND c.change_xid < h.horizon
        ORDER BY c.change_xid
        LIMIT $2`,
      [from, this.batchSize],
    );
    if (!rows.length) {
      const { rows: h } = await source.query<{ horizon: string; xmax: string }>(
        'SELECT pg_snapshot_xmin(s)::text AS horizon, pg_snapshot_xmax(s)::text AS xmax FROM pg_current_snapshot() s',
      );
      // Nothing below the horizon: everything up to it is known to be here already.
      const horizon = h[0]?.horizon ?? from;
      return { rows: [], next: BigInt(horizon) > BigInt(from) ? horizon : from, more: false, ...(h[0] ? { xmax: h[0].xmax } : {}) };
    }
    const pick = (r: { row: string; version: string }): ChangeRow => ({ json: r.row, version: r.version });
    if (rows.length < this.batchSize)
      return { rows: rows.map(pick), next: rows[0]?.horizon ?? from, more: false, xmax: rows[0]?.xmax as string };
    const last = rows[rows.length - 1]?.xid as string;
    const whole = rows.filter((r) => r.xid !== last);
    if (whole.length) return { rows: whole.map(pick), next: last, more: true };
    // One transaction larger than a batch: take all of its rows at once.
    const { rows: all } = await source.query<{ row: string; version: string }>(
      `SELECT (to_jsonb(c) - 'search' - 'change_xid')::text AS row, c.version::text AS version FROM ${t} c WHERE c.change_xid = $1::xid8`,
      [last],
    );
    return { rows: all.map(pick), next: (BigInt(last) + 1n).toString(), more: true };
  }

  /** Upsert rows keeping the higher (version, origin): the one merge rule, used by replication and repair. */
  async upsertRows(tx: Queryable, table: ReplicatedTable, rows: ChangeRow[], options: { force?: boolean } = {}): Promise<number> {
    if (!rows.length) return 0;
    const t = `${this.options.schema}.${table.name}`;
    const cols = table.columns.join(', ');
    const updates = table.columns.filter((c) => !table.key.includes(c)).map((c) => `${c} = EXCLUDED.${c}`);
    const { rowCount } = await tx.query(
      `INSERT INTO ${t} AS t (${cols})
       SELECT ${cols} FROM jsonb_populate_recordset(NULL::${t}, $1::jsonb)
       ON CONFLICT (${table.key.join(', ')}) DO UPDATE SET ${updates.join(', ')}
       ${options.force ? '' : 'WHERE (EXCLUDED.version, EXCLUDED.origin) > (t.version, t.origin)'}`,
      [`[${rows.map((r) => r.json).join(',')}]`],
    );
    clock.observe(rows.reduce((max, r) => (BigInt(r.version) > max ? BigInt(r.version) : max), 0n));
    return rowCount;
  }

  /** Apply rows outside the change stream (repair), in one transaction; `force` overwrites even an equal version. */
  applyRows(target: Provider, table: ReplicatedTable, rows: ChangeRow[], options: { force?: boolean } = {}): Promise<number> {
    return target.direct().transaction((tx) => this.upsertRows(tx, table, rows, options));
  }

  /** Upsert rows and move the watermark, in one transaction. */
  async apply(target: Provider, source: string, table: ReplicatedTable, rows: ChangeRow[], next: string): Promise<number> {
    return target.transaction(async (tx: Queryable) => {
      const applied = await this.upsertRows(tx, table, rows);
      await tx.query(
        `INSERT INTO ${this.options.schema}.replication_watermarks AS w (source, table_name, position, rows_total)
         VALUES ($1, $2, $3::xid8, $4)
         ON CONFLICT (source, table_name) DO UPDATE
           SET position = greatest(w.position, EXCLUDED.position), rows_total = w.rows_total + EXCLUDED.rows_total, updated_at = now()`,
        [source, table.name, next, applied],
      );
      return applied;
    });
  }
}
