import { clock } from '../core/hlc.js';
import { KeyedMutex } from '../core/keyed-mutex.js';
import { ERASED_TABLES, type ErasedTable } from '../core/tables.js';
import { coveredBy } from '../erasure/index.js';
import { logger } from '../observability/logger.js';
import { sourceChangesTotal } from '../observability/metrics.js';
import { isConnectionFailure, isStatementCancelled, type Provider, type Queryable } from '../providers/index.js';
import { requireAllTenants } from '../schema/index.js';
import { REPLICATED_TABLES, type ReplicatedTable, upsertSql } from './tables.js';

export interface LinkResult {
  source: string;
  target: string;
  table: string;
  applied: number;
  batches: number;
  /** The source change position everything below which is now on the target. */
  position: string;
  /** Set when the source is not the server the watermark was recorded for (restored, replaced): the link starts over. */
  sourceChanged?: string;
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

const rowsJson = (rows: ChangeRow[]): string => `[${rows.map((r) => r.json).join(',')}]`;

/** The clock moves past every version it has seen, so a later local write wins over what was copied in. */
function observeVersions(rows: ChangeRow[]): void {
  clock.observe(rows.reduce((max, r) => (BigInt(r.version) > max ? BigInt(r.version) : max), 0n));
}

interface Watermark {
  position: string;
  /** The source server's system identifier when the watermark was recorded (null: unknown). */
  system: string | null;
}

const identities = new WeakMap<Provider, { at: number; id: string | null }>();

/**
 * The server behind a provider: its system identifier (initdb's, unchanged by
 * restarts, new for a restored or replaced server), or null where the role may
 * not read it. Cached for 30 s per provider.
 */
export async function serverIdentity(provider: Provider): Promise<string | null> {
  const cached = identities.get(provider);
  if (cached && Date.now() - cached.at < 30_000) return cached.id;
  let id: string | null = null;
  try {
    const { rows } = await provider.query<{ id: string }>('SELECT system_identifier::text AS id FROM pg_control_system()');
    id = rows[0]?.id ?? null;
  } catch (error) {
    if (isConnectionFailure(error)) throw error;
    // permission denied (pg_control_system needs superuser or a grant): the counter check below still applies
  }
  identities.set(provider, { at: Date.now(), id });
  return id;
}

/**
 * Why the source is not the server the watermark was recorded for, or
 * undefined when it is: another system identifier, or a transaction counter
 * below the stored position (a restored or re-created server starts lower).
 */
export function sourceChange(mark: Watermark, system: string | null, xmax: string | undefined): string | undefined {
  if (mark.system && system && mark.system !== system) return `system identifier ${system}, watermark recorded for ${mark.system}`;
  if (xmax !== undefined && BigInt(xmax) < BigInt(mark.position)) {
    return `its transaction counter (${xmax}) is below the stored position ${mark.position}`;
  }
  return undefined;
}

export interface ReplicatorOptions {
  schema: string;
  /** Rows per batch read from a source. */
  batchSize?: number;
  /** Batches per link per run, so one run is bounded. */
  maxBatches?: number;
}

/**
 * Set in every transaction that applies replicated or repaired rows: the
 * change history records a change once, where it was written (migration 0007).
 */
export const REPLICATING: Readonly<Record<string, string>> = Object.freeze({ 'agentmem.replicating': 'on' });

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
   * Runs into one table of one target, one at a time in this process (the
   * background loop, sync acknowledgements, catch-up): two of them upserting
   * the same rows in another order could deadlock, and a link's read/position
   * bookkeeping must not interleave with itself.
   */
  private readonly intoTarget = new KeyedMutex();

  constructor(private readonly options: ReplicatorOptions) {
    this.batchSize = options.batchSize ?? 1000;
    this.maxBatches = options.maxBatches ?? 1000;
  }

  /** Replicate every table from `source` to `target`. */
  async sync(source: Provider, target: Provider): Promise<LinkResult[]> {
    // Tables in parallel: different rows, so no lock conflicts between them.
    return Promise.all(REPLICATED_TABLES.map((table) => this.syncTable(source, target, table)));
  }

  syncTable(source: Provider, target: Provider, table: ReplicatedTable): Promise<LinkResult> {
    // The direct connections: replication must see every tenant (row-level security would hide rows).
    // Sessions and memories share a lock: a session's message count (kept by a trigger) must see
    // its messages and its session row arrive one after the other, not both in flight at once.
    const lock = table.name === 'memories' ? 'sessions' : table.name;
    return this.intoTarget.run(`${target.name}>${lock}`, () => this.syncTableNow(source.direct(), target.direct(), table));
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
    const mark = await this.watermarkRow(target, source.name, table.name);
    let position = mark.position;
    const system = await serverIdentity(source);
    // Each read notes the HLC time just before it and the source's next transaction id then. Every
    // transaction acknowledged before that time has a smaller id, so once the link's position
    // passes that id (in this run or a later one), everything acknowledged before then is on the target.
    const key = `${source.name}>${target.name}>${table.name}`;
    const reads = this.pendingReads.get(key) ?? [];
    this.pendingReads.set(key, reads);
    const read = async (from: string) => ({ stamp: clock.now(), ...(await this.readChanges(source, table, from)) });
    let batchRead = await read(position);
    const changed = sourceChange(mark, system, batchRead.xmax);
    if (changed) {
      // Start over from the beginning of the new server's history: re-applying what the target has is a no-op (LWW).
      await this.restartLink(target, source.name, table.name, system, changed);
      reads.length = 0;
      result.sourceChanged = changed;
      position = '0';
      batchRead = await read(position);
    }
    for (let batch = 0; batch < this.maxBatches; batch++) {
      if (batch > 0) batchRead = await read(position);
      const { stamp, rows, next, more, xmax } = batchRead;
      if (xmax !== undefined) reads.push({ stamp, xmax: BigInt(xmax) });
      if (next === position && rows.length === 0) break;
      if (rows.length) {
        result.applied += await this.applySplitting(target, source.name, table, rows, next, system);
        result.batches++;
      }
      // Nothing changed below the horizon: the target holds this table up to it, with no write needed
      // (the stored watermark stays where it is; the next run finds nothing there again).
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
    return (await this.watermarkRow(target, source, table)).position;
  }

  private async watermarkRow(target: Provider, source: string, table: string): Promise<Watermark> {
    const { rows } = await target
      .direct()
      .query<{ position: string; source_system: string | null }>(
        `SELECT position::text AS position, source_system FROM ${this.options.schema}.replication_watermarks WHERE source = $1 AND table_name = $2`,
        [source, table],
      );
    return { position: rows[0]?.position ?? '0', system: rows[0]?.source_system ?? null };
  }

  /** One table of the link from `source` starts over at position 0, recorded against the server now behind the name. */
  private async restartLink(target: Provider, source: string, table: string, system: string | null, reason: string): Promise<void> {
    await target.query(
      `UPDATE ${this.options.schema}.replication_watermarks SET position = '0', source_system = $3 WHERE source = $1 AND table_name = $2`,
      [source, table, system],
    );
    sourceChangesTotal.inc({ source, target: target.name });
    logger().error(
      { source, target: target.name, table, reason },
      'replication source is a different server now: re-capturing everything from it',
    );
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
    // One round trip also when nothing changed: the horizon comes back on a row of its own.
    const { rows: read } = await source.query<{ xid: string | null; horizon: string; xmax: string; row: string; version: string }>(
      `WITH h AS (SELECT pg_snapshot_xmin(s) AS horizon, pg_snapshot_xmax(s) AS xmax FROM pg_current_snapshot() s)
       SELECT c.change_xid::text AS xid, h.horizon::text AS horizon, h.xmax::text AS xmax, c.version::text AS version, c.row
         FROM h LEFT JOIN LATERAL (
           SELECT c.change_xid, c.version, ${table.rowJson('c')}::text AS row
             FROM ${t} c
            WHERE c.change_xid >= $1::xid8 AND c.change_xid < h.horizon
            ORDER BY c.change_xid
            LIMIT $2
         ) c ON true
        ORDER BY c.change_xid`,
      [from, this.batchSize],
    );
    const rows = read.filter((r) => r.xid !== null);
    if (!rows.length) {
      // Nothing below the horizon: everything up to it is known to be here already.
      const horizon = read[0]?.horizon ?? from;
      return { rows: [], next: BigInt(horizon) > BigInt(from) ? horizon : from, more: false, ...(read[0] ? { xmax: read[0].xmax } : {}) };
    }
    const pick = (r: { row: string; version: string }): ChangeRow => ({ json: r.row, version: r.version });
    if (rows.length < this.batchSize)
      return { rows: rows.map(pick), next: rows[0]?.horizon ?? from, more: false, xmax: rows[0]?.xmax as string };
    const last = rows[rows.length - 1]?.xid as string;
    const whole = rows.filter((r) => r.xid !== last);
    if (whole.length) return { rows: whole.map(pick), next: last, more: true };
    // One transaction larger than a batch: take all of its rows at once.
    const { rows: all } = await source.query<{ row: string; version: string }>(
      `SELECT ${table.rowJson('c')}::text AS row, c.version::text AS version FROM ${t} c WHERE c.change_xid = $1::xid8`,
      [last],
    );
    return { rows: all.map(pick), next: (BigInt(last) + 1n).toString(), more: true };
  }

  /** Upsert rows keeping the higher (version, origin): the one merge rule, used by replication and repair. */
  async upsertRows(tx: Queryable, table: ReplicatedTable, rows: ChangeRow[], options: { force?: boolean } = {}): Promise<number> {
    if (!rows.length) return 0;
    const { rowCount } = await tx.query(this.upsertSql(table, options), [rowsJson(rows)]);
    observeVersions(rows);
    return rowCount;
  }

  /** The upsert of a JSON array of rows ($1): insert, or overwrite a lower (version, origin); `force` overwrites any. */
  private upsertSql(table: ReplicatedTable, options: { force?: boolean } = {}): string {
    const schema = this.options.schema;
    const t = `${schema}.${table.name}`;
    // A row the target's erasure ledger covers is not applied: a copy in flight when it was erased stays erased.
    const erased = (ERASED_TABLES as readonly string[]).includes(table.name)
      ? ` WHERE NOT EXISTS (SELECT 1 FROM ${schema}.erasures e WHERE ${coveredBy(table.name as ErasedTable, 's', 'e', schema)})`
      : '';
    return upsertSql(
      table,
      t,
      `SELECT ${table.columns.join(', ')} FROM jsonb_populate_recordset(NULL::${t}, $1::jsonb) s${erased}`,
      options,
    );
  }

  /** Apply rows outside the change stream (repair), in one transaction; `force` overwrites even an equal version. */
  applyRows(target: Provider, table: ReplicatedTable, rows: ChangeRow[], options: { force?: boolean } = {}): Promise<number> {
    return target.direct().transaction((tx) => this.upsertRows(tx, table, rows, options), { settings: REPLICATING });
  }

  /**
   * apply(), in halves (and their halves) when the server cancels a batch for
   * running past its statement_timeout (a large batch on a loaded server): a
   * link that timed out on the same batch on every run would never converge.
   * Only the last part moves the watermark; if the run stops before it, the
   * next run applies the earlier parts again, as no-ops (equal versions).
   */
  private async applySplitting(
    target: Provider,
    source: string,
    table: ReplicatedTable,
    rows: ChangeRow[],
    next: string | null,
    sourceSystem: string | null,
    depth = 0,
  ): Promise<number> {
    try {
      return next === null ? await this.applyRows(target, table, rows) : await this.apply(target, source, table, rows, next, sourceSystem);
    } catch (error) {
      if (!isStatementCancelled(error) || rows.length < 2) throw error;
      // Once per batch, not once per part.
      if (depth === 0)
        logger().warn(
          { source, target: target.name, table: table.name, rows: rows.length },
          'replication batch cancelled by the statement timeout: applying it in smaller parts',
        );
      const half = Math.ceil(rows.length / 2);
      const first = await this.applySplitting(target, source, table, rows.slice(0, half), null, sourceSystem, depth + 1);
      return first + (await this.applySplitting(target, source, table, rows.slice(half), next, sourceSystem, depth + 1));
    }
  }

  /** Upsert rows and move the watermark, in one transaction. */
  async apply(
    target: Provider,
    source: string,
    table: ReplicatedTable,
    rows: ChangeRow[],
    next: string,
    sourceSystem: string | null = null,
  ): Promise<number> {
    // One statement, so one round trip and atomic on its own: the rows and the watermark that covers them.
    // Its own transaction (one round trip all the same) marked as replication, so the change history is not recorded twice.
    const { rows: result } = await target.transaction(
      (tx) =>
        tx.query<{ applied: string }>(
          `WITH applied AS (${this.upsertSql(table)} RETURNING 1)
       INSERT INTO ${this.options.schema}.replication_watermarks AS w (source, table_name, position, rows_total, source_system)
       SELECT $2, $3, $4::xid8, count(*), $5 FROM applied
       ON CONFLICT (source, table_name) DO UPDATE
         SET position = greatest(w.position, EXCLUDED.position), rows_total = w.rows_total + EXCLUDED.rows_total, updated_at = now(),
             source_system = coalesce(EXCLUDED.source_system, w.source_system)
       RETURNING (SELECT count(*) FROM applied)::text AS applied`,
          [rowsJson(rows), source, table.name, next, sourceSystem],
        ),
      { single: true, settings: REPLICATING },
    );
    observeVersions(rows);
    return Number(result[0]?.applied ?? 0);
  }
}
