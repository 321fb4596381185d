/**
 * The one definition of agentmem's tables: every column with its type (as
 * PostgreSQL's format_type() prints it) and its role, each table's key, and
 * whether it is replicated, tenant-scoped and backed up. Replication, verify,
 * purge, the memory API's column lists and row mappers (its views, below)
 * derive from here, and a test checks
 * this registry against the catalog of a freshly migrated server — a column
 * added to a migration but not here fails it.
 */
export type TableName =
  | 'sessions'
  | 'memories'
  | 'knowledge_atoms'
  | 'settings'
  | 'change_history'
  | 'erasures'
  | 'replication_watermarks'
  | 'schema_versions';

/**
 * - `data`: the row's content, copied between providers and compared by checksums;
 * - `replication`: version, origin, tombstone — copied and compared too;
 * - `local`: this provider's own bookkeeping (its change position, a counter a trigger keeps): never copied or compared;
 * - `generated`: computed by the database from other columns: rebuilt by each provider.
 */
export type ColumnRole = 'data' | 'replication' | 'local' | 'generated';

export interface ColumnDef {
  name: string;
  type: string;
  role: ColumnRole;
}

export interface TableDef {
  name: TableName;
  key: string[];
  columns: ColumnDef[];
  /** Copied between providers by replication, and compared by `sync verify`. */
  replicated: boolean;
  /** Rows belong to one tenant (tenant_id, row-level security). */
  tenantScoped: boolean;
  /** Part of a backup of agentmem's data. */
  backedUp: boolean;
}

const col = (name: string, type: string, role: ColumnRole = 'data'): ColumnDef => ({ name, type, role });
const tz = 'timestamp with time zone';

/** Version, origin and tombstone (replicated), and the change position (local), on every replicated table. */
const replicationColumns = [
  col('version', 'bigint', 'replication'),
  col('origin', 'text', 'replication'),
  col('deleted_at', tz, 'replication'),
  col('change_xid', 'xid8', 'local'),
];

const memoryTable = (name: TableName, key: string[], columns: ColumnDef[]): TableDef => ({
  name,
  key,
  columns: [...columns, ...replicationColumns],
  replicated: true,
  tenantScoped: true,
  backedUp: true,
});

/** A provider's own bookkeeping: never replicated, not a tenant's, not backed up. */
const bookkeepingTable = (name: TableName, key: string[], columns: ColumnDef[]): TableDef => ({
  name,
  key,
  columns,
  replicated: false,
  tenantScoped: false,
  backedUp: false,
});

export const TABLES: readonly TableDef[] = [
  memoryTable(
    'sessions',
    ['tenant_id', 'id'],
    [
      col('tenant_id', 'text'),
      col('id', 'uuid'),
      col('agent_id', 'text'),
      col('user_id', 'text'),
      col('title', 'text'),
      col('metadata', 'jsonb'),
      col('started_at', tz),
      col('ended_at', tz),
      col('external_id', 'text'),
      col('message_count', 'integer', 'local'),
      // The highest position of the session's rows here, read by an append under the session's lock (migration 0017).
      col('last_position', 'bigint', 'local'),
    ],
  ),
  memoryTable(
    'memories',
    ['tenant_id', 'id'],
    [
      col('tenant_id', 'text'),
      col('id', 'uuid'),
      col('session_id', 'uuid'),
      col('user_id', 'text'),
      col('memory_type', 'text'),
      col('position', 'bigint'),
      col('content', 'jsonb'),
      col('metadata', 'jsonb'),
      col('importance', 'real'),
      col('created_at', tz),
      col('expires_at', tz),
      col('search', 'tsvector', 'generated'),
      col('embedding', 'real[]'),
      col('embedding_model', 'text'),
      col('embedding_dim', 'integer'),
      // A message's speaker, tool calls, the call it answers, the framework's id, and format fields (migration 0010).
      col('name', 'text'),
      col('tool_calls', 'jsonb'),
      col('tool_call_id', 'text'),
      col('external_id', 'text'),
      col('extra', 'jsonb'),
      // A keyed memory's address and last replacement (memory.items, migration 0010).
      col('namespace', 'text[]'),
      col('item_key', 'text'),
      col('updated_at', tz),
      // Deduplication and facts that change (migration 0011).
      col('content_hash', 'text'),
      col('duplicate_of', 'uuid'),
      col('supersedes', 'uuid'),
      col('superseded_by', 'uuid'),
      col('valid_to', tz),
    ],
  ),
  memoryTable(
    'knowledge_atoms',
    ['tenant_id', 'id'],
    [
      col('tenant_id', 'text'),
      col('id', 'uuid'),
      col('atom_id', 'text'),
      col('atom_type', 'text'),
      col('title', 'text'),
      col('summary', 'text'),
      col('content', 'text'),
      col('manufacturer', 'text'),
      col('product_family', 'text'),
      col('product_version', 'text'),
      col('difficulty', 'text'),
      col('prerequisites', 'text[]'),
      col('related_atoms', 'text[]'),
      col('source_document', 'text'),
      col('source_pages', 'text'),
      col('source_url', 'text'),
      col('quality_score', 'real'),
      col('safety_level', 'text'),
      col('safety_notes', 'text'),
      col('keywords', 'text[]'),
      col('citations', 'jsonb'),
      col('metadata', 'jsonb'),
      col('created_at', tz),
      col('last_validated_at', tz),
      col('search', 'tsvector', 'generated'),
      col('embedding', 'real[]'),
      col('embedding_model', 'text'),
      col('embedding_dim', 'integer'),
      // The embedding's signs (0019): what a filtered vector search ranks a few thousand rows by.
      col('embedding_bits', 'bit varying', 'generated'),
      // The tenant's hashes of each metadata scalar and its path (0021): what a metadata filter is found by.
      col('metadata_tokens', 'bigint[]', 'generated'),
    ],
  ),
  memoryTable(
    'settings',
    ['tenant_id', 'category', 'key'],
    [
      col('tenant_id', 'text'),
      col('category', 'text'),
      col('key', 'text'),
      col('id', 'uuid'),
      col('value', 'jsonb'),
      col('description', 'text'),
      col('updated_at', tz),
    ],
  ),
  // Every change to the four tables above, recorded where the write happened (migration 0007).
  memoryTable(
    'change_history',
    ['tenant_id', 'id'],
    [
      col('tenant_id', 'text'),
      col('id', 'uuid'),
      col('table_name', 'text'),
      col('record_key', 'text'),
      col('operation', 'text'),
      col('old_row', 'jsonb'),
      col('new_row', 'jsonb'),
      col('old_embedding', 'real[]'),
      col('new_embedding', 'real[]'),
      col('row_version', 'bigint'),
      col('actor', 'text'),
      col('changed_at', tz),
    ],
  ),
  // The erasure ledger: what `agentmem erase` removed, applied again by every restore (migration 0011).
  memoryTable(
    'erasures',
    ['tenant_id', 'id'],
    [
      col('tenant_id', 'text'),
      col('id', 'uuid'),
      col('subject', 'text'),
      col('subject_id', 'text'),
      col('erased_version', 'bigint'),
      col('erased_at', tz),
      col('actor', 'text'),
      col('report', 'jsonb'),
    ],
  ),
  bookkeepingTable(
    'replication_watermarks',
    ['source', 'table_name'],
    [
      col('source', 'text', 'local'),
      col('table_name', 'text', 'local'),
      col('position', 'xid8', 'local'),
      col('rows_total', 'bigint', 'local'),
      col('updated_at', tz, 'local'),
      col('source_system', 'text', 'local'),
    ],
  ),
  bookkeepingTable(
    'schema_versions',
    ['version'],
    [
      col('version', 'integer', 'local'),
      col('name', 'text', 'local'),
      col('checksum', 'text', 'local'),
      col('applied_at', tz, 'local'),
      col('duration_ms', 'integer', 'local'),
    ],
  ),
];

export function table(name: TableName): TableDef {
  const found = TABLES.find((t) => t.name === name);
  if (!found) throw new Error(`no table ${name} in the registry`);
  return found;
}

/** The columns replication copies and checksums compare: data and replication columns. */
export function sharedColumns(t: TableDef): string[] {
  return t.columns.filter((c) => c.role === 'data' || c.role === 'replication').map((c) => c.name);
}

/** A row as JSON with this provider's own columns left out: `(to_jsonb(alias) - 'a' - 'b')`. */
export function sharedRowJson(t: TableDef, alias: string): string {
  const own = t.columns.filter((c) => c.role === 'local' || c.role === 'generated').map((c) => `'${c.name}'`);
  return `(to_jsonb(${alias})${own.map((name) => ` - ${name}`).join('')})`;
}

/**
 * How the memory API reads a table: API field → column. The SELECT list and
 * the conversion of each value (by the column's type) derive from it; what a
 * column does not say (a role derived from memory_type) the view's user adds.
 */
export interface View {
  table: TableName;
  fields: Record<string, string>;
  /** How an absent value comes out: `null` (sessions, memories) or left out (atoms' optional fields). */
  absent: 'null' | 'undefined';
  /** Fields that default when absent (metadata → {}, lists → []) instead. */
  defaults?: Record<string, unknown>;
}

/** `a, b, c`: the view's columns, for a SELECT. */
export function viewColumns(view: View): string {
  return Object.values(view.fields).join(', ');
}

/** A row as the view's API object, each value converted by its column's type. */
export function fromRow(view: View, row: Record<string, unknown>): Record<string, unknown> {
  const fields = compiledFields(view);
  const out: Record<string, unknown> = {};
  for (const { field, column, convert } of fields) {
    const value = row[column];
    if (value === null || value === undefined) {
      if (view.defaults && field in view.defaults) out[field] = view.defaults[field];
      else if (view.absent === 'null') out[field] = null;
      continue;
    }
    out[field] = convert(value);
  }
  return out;
}

interface CompiledField {
  field: string;
  column: string;
  convert: (value: unknown) => unknown;
}

/** Each view's fields with their conversions, worked out once (a transcript maps thousands of rows). */
const compiled = new WeakMap<View, CompiledField[]>();

function compiledFields(view: View): CompiledField[] {
  const known = compiled.get(view);
  if (known) return known;
  const columns = new Map(table(view.table).columns.map((c) => [c.name, c.type]));
  const fields = Object.entries(view.fields).map(([field, column]) => {
    const type = columns.get(column);
    const convert =
      type === 'timestamp with time zone'
        ? (value: unknown) => (value instanceof Date ? value : new Date(String(value)))
        : type === 'real' || type === 'integer' || type === 'bigint' || type === 'double precision'
          ? (value: unknown) => Number(value)
          : type === 'uuid' || type === 'text'
            ? (value: unknown) => String(value)
            : (value: unknown) => value;
    return { field, column, convert };
  });
  compiled.set(view, fields);
  return fields;
}
