import { sharedColumns, sharedRowJson, TABLES, type TableName } from '../schema/index.js';

/**
 * The replicated tables as replication uses them — derived from the table
 * registry (src/core/tables.ts): the key, the columns copied between
 * providers, and the expression for a row without this provider's own columns.
 */
export interface ReplicatedTable {
  name: Extract<TableName, 'sessions' | 'memories' | 'knowledge_atoms' | 'settings' | 'change_history'>;
  key: string[];
  columns: string[];
  /** SQL for the row as JSON without local and generated columns, given the row's alias. */
  rowJson(alias: string): string;
}

export const REPLICATED_TABLES: ReplicatedTable[] = TABLES.filter((t) => t.replicated).map((t) => ({
  name: t.name as ReplicatedTable['name'],
  key: t.key,
  columns: sharedColumns(t),
  rowJson: (alias: string) => sharedRowJson(t, alias),
}));
