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
export type ErasedCounts = Record<'memories' | 'sessions' | 'knowledge_atoms' | 'settings' | 'change_history', number>;

export const emptyCounts = (): ErasedCounts => ({ memories: 0, sessions: 0, knowledge_atoms: 0, settings: 0, change_history: 0 });

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

/** Conditions on each table's alias `t` that pick one entry's rows ($1 tenant, $2 subject id, $3 version). */
function conditions(subject: ErasureSubject, schema: string): { memories: string; sessions: string; history: string } | { all: true } {
  if (subject === 'tenant') return { all: true };
  if (subject === 'session')
    return {
      memories: 't.session_id::text = $2',
      sessions: 't.id::text = $2',
      history: `(t.table_name = 'sessions' AND t.record_key = $2) OR (t.table_name = 'memories' AND coalesce(t.new_row, t.old_row)->>'session_id' = $2)`,
    };
  // A user's sessions, and every memory about the user or in one of the user's sessions.
  const sessionsOfUser = `SELECT s.id FROM ${schema}.sessions s WHERE s.tenant_id = $1 AND s.user_id = $2`;
  return {
    memories: `(t.user_id = $2 OR t.session_id IN (${sessionsOfUser}))`,
    sessions: 't.user_id = $2',
    history: `t.table_name IN ('sessions', 'memories') AND (coalesce(t.new_row, t.old_row)->>'user_id' = $2
      OR coalesce(t.new_row, t.old_row)->>'session_id' IN (SELECT id::text FROM (${sessionsOfUser}) u))`,
  };
}

/**
 * Apply ledger entries to a schema: delete the rows each one covers — written
 * at or below its version — from the memory tables and the change history.
 * Deleted outright, not tombstoned: every provider applies the same entry
 * (erase does it on each one, a restore on what it brings back), so there is
 * nothing for replication to carry. With `count`, only counts (a dry run).
 */
export async function applyErasures(
  db: Queryable,
  schema: string,
  entries: Erasure[],
  options: { count?: boolean } = {},
): Promise<ErasedCounts> {
  const totals = emptyCounts();
  const run = async (table: keyof ErasedCounts, where: string, params: unknown[], versionColumn = 'version') => {
    const condition = `t.tenant_id = $1 AND t.${versionColumn} <= $3::bigint AND (${where})`;
    const sql = options.count
      ? `SELECT count(*)::int AS n FROM ${schema}.${table} t WHERE ${condition}`
      : `WITH gone AS (DELETE FROM ${schema}.${table} t WHERE ${condition} RETURNING 1) SELECT count(*)::int AS n FROM gone`;
    const { rows } = await db.query<{ n: number }>(sql, params);
    totals[table] += Number(rows[0]?.n ?? 0);
  };
  for (const e of entries) {
    const params = [e.tenant, e.subjectId, e.erasedVersion];
    const c = conditions(e.subject, schema);
    // The history first: its conditions look at the sessions that are about to go.
    if ('all' in c) {
      // (Every row of the tenant; $2, the tenant's name again, keeps the statement's parameters the same.)
      await run('change_history', '$2::text IS NOT NULL', params, 'row_version');
      for (const table of ['memories', 'sessions', 'knowledge_atoms', 'settings'] as const)
        await run(table, '$2::text IS NOT NULL', params);
      continue;
    }
    await run('change_history', c.history, params, 'row_version');
    await run('memories', c.memories, params);
    await run('sessions', c.sessions, params);
  }
  return totals;
}
