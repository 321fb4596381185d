import { z } from 'zod';
import { type HistoryTable, historyRow } from '../core/as-of.js';
import type { StoreContext } from './context.js';
import { cleanText, parseInput } from './validation.js';

/** One recorded change of one record. */
export interface Change {
  table: HistoryTable;
  /** The record's key within the tenant: its id (settings: `category/key`). */
  record: string;
  operation: 'insert' | 'update' | 'delete';
  /** The row before the change (none for an insert) and after it, as stored (without local or generated columns). */
  before: Record<string, unknown> | null;
  after: Record<string, unknown>;
  /** The change's version (hybrid logical clock, as a decimal string) and the provider that took it. */
  version: string;
  origin: string;
  actor: string | null;
  changedAt: Date;
}

const changesFilter = z
  .object({
    since: z.coerce.date().optional(),
    until: z.coerce.date().optional(),
    limit: z.number().int().min(1).max(100_000).default(1000),
  })
  .strict();
export type ChangesFilter = z.input<typeof changesFilter>;

/**
 * The change history (migration 0007): every change to sessions, memories,
 * atoms and settings, with the row before and after, kept for the history
 * retention window. Reads as of a time go through `asOf` on the read
 * methods (sessions.get/getMessages/load/export, memories.recall).
 */
export class History {
  constructor(private readonly ctx: StoreContext) {}

  /**
   * One record's changes, oldest first. `record` is a session, message or
   * memory id, an atom's id or atom id (`plc:timer`), or a setting's `category/key`.
   */
  async changes(record: string, filter: ChangesFilter = {}): Promise<Change[]> {
    const key = parseInput(cleanText(500), record, 'record id');
    const f = parseInput(changesFilter, filter, 'history filter');
    return this.ctx.read(
      'history.changes',
      async (tx) => {
        const { rows } = await tx.query<Record<string, unknown>>(
          `SELECT table_name, record_key, operation, ${exactBigints(historyRow('h', 'old'))} AS old_row,
                  ${exactBigints(historyRow('h', 'new'))} AS new_row,
                  row_version::text AS row_version, origin, actor, changed_at
             FROM ${this.ctx.schema}.change_history h
            WHERE tenant_id = $1
              AND (record_key = $2 OR (table_name = 'knowledge_atoms' AND new_row->>'atom_id' = $2))
              AND ($3::timestamptz IS NULL OR changed_at >= $3) AND ($4::timestamptz IS NULL OR changed_at <= $4)
            ORDER BY changed_at, row_version
            LIMIT $5`,
          [this.ctx.tenant, key, f.since ?? null, f.until ?? null, f.limit],
        );
        return rows.map(toChange);
      },
      { single: true },
    );
  }
}

/** A stored row with its bigint columns (version; a message's position) as strings: a JS number would round them. */
function exactBigints(column: string): string {
  return `(${column} || jsonb_build_object('version', ${column}->>'version')
     || CASE WHEN ${column} ? 'position' THEN jsonb_build_object('position', ${column}->>'position') ELSE '{}'::jsonb END)`;
}

function toChange(row: Record<string, unknown>): Change {
  return {
    table: row.table_name as HistoryTable,
    record: String(row.record_key),
    operation: row.operation as Change['operation'],
    before: (row.old_row as Record<string, unknown> | null) ?? null,
    after: row.new_row as Record<string, unknown>,
    version: String(row.row_version),
    origin: String(row.origin),
    actor: (row.actor as string | null) ?? null,
    changedAt: row.changed_at instanceof Date ? row.changed_at : new Date(String(row.changed_at)),
  };
}
