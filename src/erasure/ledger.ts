import { ERASED_TABLES, type ErasedTable } from '../core/tables.js';
import type { Queryable } from '../providers/index.js';

export type ErasureSubject = 'tenant' | 'user' | 'session';

/** One entry of the erasure ledger: rows of the subject at or below `erasedVersion` are gone for good. */
export interface Erasure {
  tenant: string;
  id: string;
  subject: ErasureSubject;
  /** The tenant's name, the user id or the session id. */
  subjectId: string;
  erasedVersion: string;
  erasedAt: string;
  actor: string | null;
  /** The ledger row's own version and origin (the same on every provider) and the signed report, once there is one. */
  version: string;
  origin: string;
  report: unknown;
}

/** Rows removed per table by applying the ledger. */
export type ErasedCounts = Record<ErasedTable, number>;

export const emptyCounts = (): ErasedCounts => Object.fromEntries(ERASED_TABLES.map((t) => [t, 0])) as ErasedCounts;

/** The ledger as a schema holds it (every tenant: a direct connection). */
export async function readLedger(db: Queryable, schema: string, tenant?: string): Promise<Erasure[]> {
  const { rows } = await db.query<{
    tenant_id: string;
    id: string;
    subject: ErasureSubject;
    subject_id: string;
    erased_version: string;
    erased_at: Date;
    actor: string | null;
    version: string;
    origin: string;
    report: unknown;
  }>(
    `SELECT tenant_id, id::text, subject, subject_id, erased_version::text, erased_at, actor, version::text, origin, report FROM ${schema}.erasures
      WHERE deleted_at IS NULL AND ($1::text IS NULL OR tenant_id = $1) ORDER BY erased_at, id`,
    [tenant ?? null],
  );
  return rows.map((r) => ({
    tenant: r.tenant_id,
    id: r.id,
    subject: r.subject,
    subjectId: r.subject_id,
    erasedVersion: r.erased_version,
    erasedAt: new Date(r.erased_at).toISOString(),
    actor: r.actor,
    version: r.version,
    origin: r.origin,
    report: r.report,
  }));
}

/**
 * Record entries in a schema's ledger: added where missing, replaced by a
 * newer version (the report added), never older. Every provider gets the same
 * row, so their copies compare equal.
 */
export async function recordLedger(db: Queryable, schema: string, entries: Erasure[]): Promise<void> {
  for (const e of entries)
    await db.query(
      `INSERT INTO ${schema}.erasures AS t (tenant_id, id, subject, subject_id, erased_version, erased_at, actor, report, version, origin)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
       ON CONFLICT (tenant_id, id) DO UPDATE SET report = EXCLUDED.report, version = EXCLUDED.version, origin = EXCLUDED.origin
        WHERE (EXCLUDED.version, EXCLUDED.origin) > (t.version, t.origin)`,
      [
        e.tenant,
        e.id,
        e.subject,
        e.subjectId,
        e.erasedVersion,
        e.erasedAt,
        e.actor,
        e.report === null || e.report === undefined ? null : JSON.stringify(e.report),
        e.version,
        e.origin,
      ],
    );
}

/** Entries from several ledgers, one per id: the newest version of each. */
export function mergeLedgers(...ledgers: Erasure[][]): Erasure[] {
  const byId = new Map<string, Erasure>();
  for (const e of ledgers.flat()) {
    const known = byId.get(`${e.tenant}/${e.id}`);
    if (!known || BigInt(e.version) > BigInt(known.version)) byId.set(`${e.tenant}/${e.id}`, e);
  }
  return [...byId.values()];
}

/**
 * SQL: ledger entry `e` covers row `t` of `table` — the same tenant, written
 * at or below the entry's version, and the entry's subject: the tenant; a
 * user (their sessions, memories about them or in their sessions, the
 * checkpoints of those sessions' threads, and the history of those); a
 * session (it, its memories, its thread's checkpoints, their history). The one
 * definition: erase and restores delete by it, replication refuses by it.
 */
export function coveredBy(table: ErasedTable, t: string, e: string, schema: string): string {
  const sessionsOf = (user: string) => `SELECT s.id FROM ${schema}.sessions s WHERE s.tenant_id = ${t}.tenant_id AND s.user_id = ${user}`;
  const row = `coalesce(${t}.new_row, ${t}.old_row)`;
  const threadOf = `(${e}.subject = 'user' AND ${t}.session_id IN (${sessionsOf(`${e}.subject_id`)}))
      OR (${e}.subject = 'session' AND ${t}.session_id::text = ${e}.subject_id)`;
  const subject = {
    sessions: `(${e}.subject = 'user' AND ${t}.user_id = ${e}.subject_id) OR (${e}.subject = 'session' AND ${t}.id::text = ${e}.subject_id)`,
    memories: `(${e}.subject = 'user' AND (${t}.user_id = ${e}.subject_id OR ${t}.session_id IN (${sessionsOf(`${e}.subject_id`)})))
      OR (${e}.subject = 'session' AND ${t}.session_id::text = ${e}.subject_id)`,
    // A thread's checkpoints belong to its session (and so to the session's user).
    checkpoints: threadOf,
    checkpoint_blobs: threadOf,
    checkpoint_writes: threadOf,
    change_history: `${t}.table_name IN ('sessions', 'memories') AND (
      (${e}.subject = 'user' AND (${row}->>'user_id' = ${e}.subject_id OR ${row}->>'session_id' IN (SELECT id::text FROM (${sessionsOf(`${e}.subject_id`)}) u)))
      OR (${e}.subject = 'session' AND ((${t}.table_name = 'sessions' AND ${t}.record_key = ${e}.subject_id) OR ${row}->>'session_id' = ${e}.subject_id)))`,
    knowledge_atoms: 'false',
    settings: 'false',
  }[table];
  const version = table === 'change_history' ? 'row_version' : 'version';
  return `${e}.tenant_id = ${t}.tenant_id AND ${e}.deleted_at IS NULL AND ${t}.${version} <= ${e}.erased_version
    AND (${e}.subject = 'tenant' OR ${subject})`;
}

/**
 * Apply ledger entries to a schema: delete the rows each one covers (see
 * coveredBy) from the memory tables and the change history. Deleted outright,
 * not tombstoned: every provider applies the same entry (erase does it on each
 * one, a restore on what it brings back) and replication refuses covered rows,
 * so there is nothing to carry. With `count`, only counts (a dry run).
 */
export async function applyErasures(
  db: Queryable,
  schema: string,
  entries: Erasure[],
  options: { count?: boolean } = {},
): Promise<ErasedCounts> {
  const totals = emptyCounts();
  // The entry as a one-row relation: it need not be in this schema's ledger (a dry run records nothing).
  const entry = `(SELECT $1::text AS tenant_id, $2::text AS subject, $3::text AS subject_id, $4::bigint AS erased_version,
                         NULL::timestamptz AS deleted_at) e`;
  for (const e of entries)
    for (const table of ERASED_TABLES) {
      const condition = `t.tenant_id = $1 AND EXISTS (SELECT 1 FROM ${entry} WHERE ${coveredBy(table, 't', 'e', schema)})`;
      const sql = options.count
        ? `SELECT count(*)::int AS n FROM ${schema}.${table} t WHERE ${condition}`
        : `WITH gone AS (DELETE FROM ${schema}.${table} t WHERE ${condition} RETURNING 1) SELECT count(*)::int AS n FROM gone`;
      const { rows } = await db.query<{ n: number }>(sql, [e.tenant, e.subject, e.subjectId, e.erasedVersion]);
      totals[table] += Number(rows[0]?.n ?? 0);
    }
  return totals;
}
