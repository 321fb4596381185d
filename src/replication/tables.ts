import { type ReplicatedTableName, sharedColumns, sharedRowJson, TABLES, type TableDef } from '../schema/index.js';

/**
 * The replicated tables as replication uses them — derived from the table
 * registry (src/core/tables.ts): the key, the columns copied between
 * providers, and the expression for a row without this provider's own columns.
 */
export interface ReplicatedTable {
  name: ReplicatedTableName;
  key: readonly string[];
  columns: string[];
  /** SQL for the row as JSON without local and generated columns, given the row's alias. */
  rowJson(alias: string): string;
}

export const REPLICATED_TABLES: ReplicatedTable[] = (TABLES as readonly TableDef[])
  .filter((t) => t.replicated)
  .map((t) => ({
    name: t.name as ReplicatedTableName,
    key: t.key,
    columns: sharedColumns(t),
    rowJson: (alias: string) => sharedRowJson(t, alias),
  }));

/**
 * The one merge rule as SQL: insert the rows `select` yields into `into` (a
 * schema-qualified table of this shape), overwriting a row only with a higher
 * (version, origin) — or any row, with `force`. Replication, repair and
 * restores all merge through it.
 */
export function upsertSql(table: ReplicatedTable, into: string, select: string, options: { force?: boolean } = {}): string {
  const updates = table.columns.filter((c) => !table.key.includes(c)).map((c) => `${c} = EXCLUDED.${c}`);
  return `INSERT INTO ${into} AS t (${table.columns.join(', ')})
       ${select}
       ON CONFLICT (${table.key.join(', ')}) DO UPDATE SET ${updates.join(', ')}
       ${options.force ? '' : 'WHERE (EXCLUDED.version, EXCLUDED.origin) > (t.version, t.origin)'}`;
}
