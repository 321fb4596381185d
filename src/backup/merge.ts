import { HISTORY_TABLES, type HistoryTable, recordKeyExpression } from '../core/as-of.js';
import { APPEND_ONLY_TABLES, table as tableDef, tombstoneSet } from '../core/tables.js';
import type { Queryable } from '../providers/index.js';
import { REPLICATED_TABLES, type ReplicatedTable, upsertSql } from '../replication/index.js';

/**
 * What a restore brings back: a tenant (or every tenant), and within it
 * optionally one session (its row, its messages and memories, its thread's
 * checkpoints) or one record (of the change history's tables).
 */
export interface RestoreScope {
  tenant?: string;
  session?: string;
  record?: string;
}

/**
 * - `seed`: restored rows keep their versions and merge by last-writer-wins
 *   (an empty or new provider: replication then brings it up to date);
 * - `rewind`: the restored state wins — rows are written with a fresh version,
 *   and rows in scope the archive does not have become tombstones, so
 *   replication carries the restored state to every provider.
 */
export type RestoreMode = 'seed' | 'rewind';

export interface TableMerge {
  table: string;
  restored: number;
  tombstoned: number;
}

/** The WHERE condition of the scope on a table's alias, or null when the table is outside it (a session's scope has no atoms). */
export function scopeCondition(table: ReplicatedTable['name'], alias: string, scope: RestoreScope, params: unknown[]): string | null {
  const parts: string[] = [];
  const param = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
  if (scope.tenant !== undefined) parts.push(`${alias}.tenant_id = ${param(scope.tenant)}`);
  if (scope.session !== undefined) {
    // The session itself, and every row that belongs to it (its memories, its thread's checkpoints).
    if (table === 'sessions') parts.push(`${alias}.id::text = ${param(scope.session)}`);
    else if (tableDef(table).columns.some((c) => c.name === 'session_id'))
      parts.push(`${alias}.session_id::text = ${param(scope.session)}`);
    else return null;
  }
  if (scope.record !== undefined) {
    // A record is one of the history's (its key as the history names it).
    if (LOG_TABLES.has(table) || !(HISTORY_TABLES as readonly string[]).includes(table)) return null;
    parts.push(`${recordKeyExpression(table as HistoryTable, alias)} = ${param(scope.record)}`);
  }
  return parts.length ? parts.join(' AND ') : 'true';
}

/** Tables that only grow: a rewind adds what the archive has and removes nothing. */
const LOG_TABLES = new Set<string>(APPEND_ONLY_TABLES);

const keyMatch = (table: ReplicatedTable, a: string, b: string) => table.key.map((k) => `${a}.${k} = ${b}.${k}`).join(' AND ');

/** Is anything in scope on the target (live or tombstone)? An empty target is seeded, a used one rewound. */
export async function targetHasRows(db: Queryable, schema: string, scope: RestoreScope): Promise<boolean> {
  for (const name of HISTORY_TABLES) {
    const params: unknown[] = [];
    const where = scopeCondition(name, 't', scope, params);
    if (where === null) continue;
    const { rows } = await db.query(`SELECT 1 FROM ${schema}.${name} t WHERE ${where} LIMIT 1`, params);
    if (rows.length) return true;
  }
  return false;
}

/** The highest version of any row in scope (every row, with an empty scope); 0 when there is none. */
export async function highestVersion(db: Queryable, schema: string, scope: RestoreScope = {}): Promise<bigint> {
  let highest = 0n;
  for (const name of HISTORY_TABLES) {
    const params: unknown[] = [];
    const where = scopeCondition(name, 't', scope, params);
    if (where === null) continue;
    const { rows } = await db.query<{ v: string | null }>(`SELECT max(version)::text AS v FROM ${schema}.${name} t WHERE ${where}`, params);
    const v = rows[0]?.v ? BigInt(rows[0].v) : 0n;
    if (v > highest) highest = v;
  }
  return highest;
}

/** A version above every version in scope on the target and above `floor` (the other providers'). */
export async function freshVersion(db: Queryable, schema: string, scope: RestoreScope, now: bigint, floor = 0n): Promise<bigint> {
  const above = [now, floor, (await highestVersion(db, schema, scope)) + 1n];
  return above.reduce((a, b) => (b > a ? b : a));
}

/**
 * Merge the restored rows of `from` (a scratch schema) into `into`, table by
 * table, within the scope — in the caller's transaction, so it all commits or
 * none of it does.
 */
export async function mergeRestored(
  db: Queryable,
  options: { from: string; into: string; scope: RestoreScope; mode: RestoreMode; version: bigint; origin: string },
): Promise<TableMerge[]> {
  const { from, into, scope, mode } = options;
  const results: TableMerge[] = [];
  for (const table of REPLICATED_TABLES) {
    const params: unknown[] = [];
    const where = scopeCondition(table.name, 's', scope, params);
    if (where === null) continue;
    const target = `${into}.${table.name}`;
    // History and the erasure ledger are logs: restored entries are added where missing, never rewritten or dropped.
    if (mode === 'seed' || LOG_TABLES.has(table.name)) {
      if (mode === 'rewind' && (scope.session !== undefined || scope.record !== undefined)) continue;
      const { rowCount } = await db.query(
        upsertSql(table, target, `SELECT ${table.columns.join(', ')} FROM ${from}.${table.name} s WHERE ${where}`),
        params,
      );
      results.push({ table: table.name, restored: rowCount, tombstoned: 0 });
      continue;
    }
    const version = `$${params.length + 1}::bigint`;
    const origin = `$${params.length + 2}::text`;
    const rewound = table.columns.map((c) => (c === 'version' ? version : c === 'origin' ? origin : `s.${c}`)).join(', ');
    // Rows the target holds at the archive's very version are the same write: left alone.
    // The fresh version is above every other, so the restored row wins (force: no comparison needed).
    const { rowCount: restored } = await db.query(
      upsertSql(
        table,
        target,
        `SELECT ${rewound} FROM ${from}.${table.name} s
           LEFT JOIN ${target} cur ON ${keyMatch(table, 'cur', 's')}
          WHERE ${where} AND (cur.version IS NULL OR (cur.version, cur.origin) <> (s.version, s.origin))`,
        { force: true },
      ),
      [...params, options.version.toString(), options.origin],
    );
    const targetParams: unknown[] = [];
    const targetWhere = scopeCondition(table.name, 't', scope, targetParams) as string;
    const { rowCount: tombstoned } = await db.query(
      `UPDATE ${target} t SET ${tombstoneSet(table.name, `$${targetParams.length + 1}::bigint`, `$${targetParams.length + 2}::text`)}
        WHERE ${targetWhere} AND t.deleted_at IS NULL
          AND NOT EXISTS (SELECT 1 FROM ${from}.${table.name} s WHERE ${keyMatch(table, 's', 't')})`,
      [...targetParams, options.version.toString(), options.origin],
    );
    results.push({ table: table.name, restored, tombstoned });
  }
  return results;
}
