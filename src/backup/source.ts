import { TABLES, type TableName } from '../core/tables.js';
import type { Queryable } from '../providers/index.js';

export interface ArchiveColumn {
  name: string;
  type: string;
}

/**
 * The columns a backup copies, per agentmem table present in the schema, as
 * the catalog has them (a provider on an older schema version backs up its
 * own columns): every column but generated ones (rebuilt on load) and the
 * change position (a transaction id is meaningless on another server).
 */
export async function tableColumns(db: Queryable, schema: string): Promise<Map<TableName, ArchiveColumn[]>> {
  const { rows } = await db.query<{ table: string; name: string; type: string; generated: boolean }>(
    `SELECT c.relname AS table, a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, a.attgenerated <> '' AS generated
       FROM pg_attribute a
       JOIN pg_class c ON c.oid = a.attrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY c.relname, a.attnum`,
    [schema],
  );
  const known = new Set<string>(TABLES.map((t) => t.name));
  const columns = new Map<TableName, ArchiveColumn[]>();
  for (const row of rows) {
    if (!known.has(row.table) || row.generated) continue;
    const name = row.table as TableName;
    // A transaction id means nothing on another server. Other local columns (a session's message count) are
    // consistent within the snapshot: kept, for a whole restore into an empty target to use as they are.
    if (row.name === 'change_xid') continue;
    columns.set(name, [...(columns.get(name) ?? []), { name: row.name, type: row.type }]);
  }
  return columns;
}

/** A tenant id as an SQL literal (COPY takes no parameters); tenant ids are validated identifiers besides. */
export function tenantLiteral(tenant: string): string {
  return `'${tenant.replace(/'/g, "''")}'`;
}
