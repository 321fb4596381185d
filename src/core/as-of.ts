import { type HistoryTable, sharedRowJson, table } from './tables.js';

export { HISTORY_TABLES, type HistoryTable } from './tables.js';

/** How the change history names one record of a table (its key within the tenant): the same expression as the trigger's. */
export function recordKeyExpression(name: HistoryTable, alias: string): string {
  return name === 'settings' ? `(${alias}.category || '/' || ${alias}.key)` : `${alias}.id::text`;
}

/**
 * A change-history row as the record was, embedding included: the trigger keeps
 * an embedding in a column of its own (migration 0013), history recorded
 * before that kept it in the JSON.
 */
export function historyRow(alias: string, side: 'new' | 'old'): string {
  const row = `${alias}.${side}_row`;
  const embedding = `${alias}.${side}_embedding`;
  return `(CASE WHEN ${embedding} IS NULL THEN ${row} ELSE ${row} || jsonb_build_object('embedding', ${embedding}::text) END)`;
}

export interface AsOfOptions {
  schema: string;
  /** Placeholder of the tenant (e.g. `$1`). */
  tenant: string;
  /** Placeholder of the point in time (a timestamptz). */
  at: string;
  /** Only records whose `column` equals the placeholder's value (pushed into the key scan): e.g. a session's messages. */
  only?: { column: string; value: string };
}

/**
 * A relation with the table's columns holding one tenant's rows as they were
 * at a point in time, to use in FROM where the table itself would go
 * (`FROM <relation> AS memories`). Per record:
 * - the newest change at or before the time: the row after it;
 * - else the oldest change after the time: the row before it (none: the record did not exist yet);
 * - else (no change recorded either side): the row as it is now.
 * It reaches back as far as the change history does (its retention window);
 * local and generated columns (a search vector) come out null.
 */
export function asOfRelation(name: HistoryTable, options: AsOfOptions): string {
  const { schema, tenant, at, only } = options;
  const t = `${schema}.${name}`;
  const h = `${schema}.change_history`;
  const inTable = `h.tenant_id = ${tenant} AND h.table_name = '${name}'`;
  const historyFilter = only ? ` AND coalesce(h.new_row, h.old_row)->>'${only.column}' = ${only.value}::text` : '';
  const tableFilter = only ? ` AND c.${only.column}::text = ${only.value}::text` : '';
  return `(SELECT (jsonb_populate_record(NULL::${t}, v.row)).* FROM (
      SELECT CASE WHEN b.row IS NOT NULL THEN b.row WHEN a.found THEN a.row ELSE cur.row END AS row
        FROM (SELECT h.record_key FROM ${h} h WHERE ${inTable}${historyFilter}
              UNION SELECT ${recordKeyExpression(name, 'c')} FROM ${t} c WHERE c.tenant_id = ${tenant}${tableFilter}) k
        LEFT JOIN LATERAL (SELECT ${historyRow('h', 'new')} AS row FROM ${h} h WHERE ${inTable} AND h.record_key = k.record_key AND h.changed_at <= ${at}
                            ORDER BY h.changed_at DESC, h.row_version DESC LIMIT 1) b ON true
        LEFT JOIN LATERAL (SELECT true AS found, ${historyRow('h', 'old')} AS row FROM ${h} h WHERE ${inTable} AND h.record_key = k.record_key AND h.changed_at > ${at}
                            ORDER BY h.changed_at, h.row_version LIMIT 1) a ON true
        LEFT JOIN LATERAL (SELECT ${sharedRowJson(table(name), 'c')} AS row FROM ${t} c
                            WHERE c.tenant_id = ${tenant} AND ${recordKeyExpression(name, 'c')} = k.record_key) cur ON true
    ) v WHERE v.row IS NOT NULL)`;
}
