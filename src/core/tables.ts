/*
 * The one definition of agentmem's tables: every column with its type (as
 * PostgreSQL's format_type() prints it) and its role, each table's key, and
 * what each table takes part in (replication, row-level security, backups,
 * the change history, erasure, health counts). Every list of tables in the
 * code derives from these flags — replication, verify, purge, backups and
 * restores, as-of reads, erasure, row-level security checks, health, and the
 * memory API's column lists and row mappers (its views, below) — so a new
 * table is one entry here. A test checks the registry against the catalog of
 * a freshly migrated server: a column, trigger or policy a migration adds and
 * the registry misses fails it.
 */

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

/** What a table takes part in. */
export interface TableFlags {
  /** Copied between providers by replication, and compared by `sync verify`. */
  replicated: boolean;
  /** Rows belong to one tenant (tenant_id leads the key). */
  tenantScoped: boolean;
  /** Row-level security limits a connection to its tenant's rows (`verify` checks the role cannot see past it). */
  rowLevelSecurity: boolean;
  /** Part of a backup of agentmem's data. */
  backedUp: boolean;
  /** Every change is recorded in the change history, so the table can be read as of a past time and rewound. */
  history: boolean;
  /** Only grows: a restore's rewind adds what the archive has and removes nothing. */
  appendOnly: boolean;
  /** `health` reports its live rows per provider. */
  healthCounted: boolean;
  /**
   * When an erasure removes this table's rows, in ascending order (the history first: it looks at
   * the sessions to find a user's rows; sessions after their memories); null: an erasure keeps them.
   */
  erasureStep: number | null;
}

export interface TableDef extends TableFlags {
  name: string;
  key: readonly string[];
  columns: readonly ColumnDef[];
  /** What a tombstone keeps of a deleted row's content: each listed column is set to its value (SQL) by every delete. */
  erasedOnDelete: Readonly<Record<string, string>>;
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

/** A tenant's data: replicated, guarded by row-level security, backed up. */
type DataFlags = { replicated: true; tenantScoped: true; rowLevelSecurity: true; backedUp: true };
type OwnFlags = Pick<TableFlags, 'history' | 'appendOnly' | 'healthCounted' | 'erasureStep'>;

function dataTable<const N extends string, const F extends OwnFlags>(
  name: N,
  key: string[],
  columns: ColumnDef[],
  flags: F,
  erasedOnDelete: Record<string, string> = {},
): { name: N; key: string[]; columns: ColumnDef[]; erasedOnDelete: Record<string, string> } & DataFlags & F {
  return {
    name,
    key,
    columns: [...columns, ...replicationColumns],
    replicated: true,
    tenantScoped: true,
    rowLevelSecurity: true,
    backedUp: true,
    ...flags,
    erasedOnDelete,
  };
}

/** A provider's own bookkeeping: never replicated, not a tenant's, not backed up, never erased. */
function bookkeepingTable<const N extends string>(name: N, key: string[], columns: ColumnDef[]) {
  return {
    name,
    key,
    columns,
    replicated: false as const,
    tenantScoped: false as const,
    rowLevelSecurity: false as const,
    backedUp: false as const,
    history: false as const,
    appendOnly: false as const,
    healthCounted: false as const,
    erasureStep: null,
    erasedOnDelete: {},
  };
}

/** A background worker's claim on work (until retry_after) and its failures, on one provider. */
const retryColumns = [col('attempts', 'integer', 'local'), col('retry_after', tz, 'local'), col('last_error', 'text', 'local')];

/** The memory and message content a tombstone erases; it keeps the key, type, session, user and times that replication, history and erasure need. */
const erasedMemoryContent = {
  content: "'null'::jsonb",
  metadata: "'{}'::jsonb",
  embedding: 'NULL',
  embedding_model: 'NULL',
  embedding_dim: 'NULL',
  name: 'NULL',
  tool_calls: 'NULL',
  tool_call_id: 'NULL',
  extra: 'NULL',
  content_hash: 'NULL',
};

export const TABLES = [
  dataTable(
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
      // The last message position extraction and summaries have read (migration 0024).
      col('extracted_position', 'bigint'),
      col('summarized_position', 'bigint'),
    ],
    { history: true, appendOnly: false, healthCounted: true, erasureStep: 3 },
  ),
  dataTable(
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
      // In the memories' HNSW graph: rows embedded once their user has many (migration 0031).
      col('embedding_graph', 'boolean'),
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
    { history: true, appendOnly: false, healthCounted: true, erasureStep: 2 },
    erasedMemoryContent,
  ),
  dataTable(
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
    { history: true, appendOnly: false, healthCounted: true, erasureStep: 4 },
  ),
  dataTable(
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
    { history: true, appendOnly: false, healthCounted: true, erasureStep: 5 },
  ),
  // LangGraph checkpoints, their channels' values and their tasks' writes (migration 0025): erased with the thread's session.
  dataTable(
    'checkpoints',
    ['tenant_id', 'thread_id', 'checkpoint_ns', 'checkpoint_id'],
    [
      col('tenant_id', 'text'),
      col('thread_id', 'text'),
      col('checkpoint_ns', 'text'),
      col('checkpoint_id', 'text'),
      col('session_id', 'uuid'),
      col('parent_checkpoint_id', 'text'),
      col('checkpoint_type', 'text'),
      col('checkpoint', 'text'),
      col('metadata', 'jsonb'),
      col('created_at', tz),
    ],
    { history: false, appendOnly: false, healthCounted: true, erasureStep: 2 },
    { checkpoint: "''", metadata: "'{}'::jsonb" },
  ),
  dataTable(
    'checkpoint_blobs',
    ['tenant_id', 'thread_id', 'checkpoint_ns', 'channel', 'channel_version'],
    [
      col('tenant_id', 'text'),
      col('thread_id', 'text'),
      col('checkpoint_ns', 'text'),
      col('channel', 'text'),
      col('channel_version', 'text'),
      col('session_id', 'uuid'),
      col('value_type', 'text'),
      col('value', 'text'),
      col('created_at', tz),
    ],
    { history: false, appendOnly: false, healthCounted: false, erasureStep: 2 },
    { value: 'NULL' },
  ),
  dataTable(
    'checkpoint_writes',
    ['tenant_id', 'thread_id', 'checkpoint_ns', 'checkpoint_id', 'task_id', 'idx'],
    [
      col('tenant_id', 'text'),
      col('thread_id', 'text'),
      col('checkpoint_ns', 'text'),
      col('checkpoint_id', 'text'),
      col('task_id', 'text'),
      col('idx', 'integer'),
      col('session_id', 'uuid'),
      col('channel', 'text'),
      col('value_type', 'text'),
      col('value', 'text'),
      col('task_path', 'text'),
      col('created_at', tz),
    ],
    { history: false, appendOnly: false, healthCounted: false, erasureStep: 2 },
    { value: "''" },
  ),
  // Every change to the four tables above, recorded where the write happened (migration 0007).
  dataTable(
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
    { history: false, appendOnly: true, healthCounted: false, erasureStep: 1 },
  ),
  // The erasure ledger: what `agentmem erase` removed, applied again by every restore (migration 0011).
  dataTable(
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
    { history: false, appendOnly: true, healthCounted: false, erasureStep: null },
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
  // The embedding worker's claims and retries on this provider (migration 0023).
  bookkeepingTable(
    'embedding_claims',
    ['tenant_id', 'id'],
    [col('tenant_id', 'text', 'local'), col('id', 'uuid', 'local'), ...retryColumns],
  ),
  // Formation runs on this provider: sessions being formed, and retries (migration 0024).
  bookkeepingTable(
    'formation_claims',
    ['tenant_id', 'session_id', 'kind'],
    [col('tenant_id', 'text', 'local'), col('session_id', 'uuid', 'local'), col('kind', 'text', 'local'), ...retryColumns],
  ),
  // New vectors of a re-embedding, until they are switched in (migration 0023).
  bookkeepingTable(
    'embedding_staging',
    ['model', 'tenant_id', 'id'],
    [
      col('tenant_id', 'text', 'local'),
      col('id', 'uuid', 'local'),
      col('model', 'text', 'local'),
      col('dim', 'integer', 'local'),
      col('embedding', 'real[]', 'local'),
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
] as const satisfies readonly TableDef[];

type Registered = (typeof TABLES)[number];
export type TableName = Registered['name'];
/** The tables whose changes the change history records: readable as of a past time, rewound by restores. */
export type HistoryTable = Extract<Registered, { history: true }>['name'];
export type ReplicatedTableName = Extract<Registered, { replicated: true }>['name'];
export type ErasedTable = Extract<Registered, { erasureStep: number }>['name'];
export type CountedTable = Extract<Registered, { healthCounted: true }>['name'];

/** The registered tables with a flag set, in registry order. */
function namesWhere<N extends TableName>(flag: keyof TableFlags): N[] {
  return TABLES.filter((t: TableDef) => t[flag] === true).map((t) => t.name as N);
}

export const HISTORY_TABLES: readonly HistoryTable[] = namesWhere('history');
export const ROW_SECURED_TABLES: readonly TableName[] = namesWhere('rowLevelSecurity');
export const APPEND_ONLY_TABLES: readonly TableName[] = namesWhere('appendOnly');
export const COUNTED_TABLES: readonly CountedTable[] = namesWhere('healthCounted');
/** The tables an erasure removes rows from, in the order it removes them. */
export const ERASED_TABLES: readonly ErasedTable[] = (TABLES as readonly TableDef[])
  .filter((t) => t.erasureStep !== null)
  .sort((a, b) => (a.erasureStep as number) - (b.erasureStep as number))
  .map((t) => t.name as ErasedTable);

/**
 * The SET list of every delete: the tombstone, what the table erases of the
 * row's content, and the write's version and origin (placeholders or SQL).
 * Forget, a session's clear or delete, items, retention, dedupe and a
 * restore's rewind all delete through it, so a tombstone is the same
 * whichever path made it.
 */
export function tombstoneSet(name: TableName, version: string, origin: string): string {
  const erased = Object.entries(table(name).erasedOnDelete).map(([column, value]) => `${column} = ${value}`);
  return ['deleted_at = now()', ...erased, `version = ${version}`, `origin = ${origin}`].join(', ');
}

export function table(name: TableName): TableDef {
  const found = (TABLES as readonly TableDef[]).find((t) => t.name === name);
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
