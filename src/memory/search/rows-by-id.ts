import type { TableName } from '../../core/tables.js';
import { viewColumns } from '../../core/views.js';
import type { Queryable } from '../../providers/index.js';
import type { StoreContext } from '../context.js';

/**
 * A search's hits read whole, after it ranked their ids: the live rows of
 * `table` with a view's columns, keyed by id. A row deleted since it was
 * ranked is left out.
 */
export async function rowsById<H>(
  ctx: StoreContext,
  tx: Queryable,
  table: TableName,
  view: Parameters<typeof viewColumns>[0],
  ids: string[],
  convert: (row: Record<string, unknown>) => H,
): Promise<Map<string, H>> {
  const { rows } = await tx.query(
    `SELECT ${viewColumns(view)} FROM ${ctx.table(table)} WHERE tenant_id = $1 AND id = ANY($2::uuid[]) AND deleted_at IS NULL`,
    [ctx.tenant, ids],
  );
  return new Map(rows.map((row) => [String(row.id), convert(row)]));
}
