import type { Timeouts } from '../config/index.js';

export interface QueryOptions {
  /** Overrides the provider's query timeout for this one call (e.g. a long migration). */
  timeoutMs?: number;
  /**
   * A statement sent often, with the same text every time (parameters apart):
   * on a connection that is its own server session it is prepared once and
   * then executed by name, skipping the parse and plan of every call. Through
   * a transaction pooler it goes unnamed, as any other. For statements whose
   * result columns are fixed by the statement or the function it calls (a
   * prepared `SELECT *` of a table would fail once the table gains a column).
   */
  prepare?: boolean;
  /**
   * With `prepare`: what to send instead where the statement would go unnamed
   * (through a transaction pooler; on the embedded database, which prepares
   * nothing), for a statement that is cheap to run but costly to plan, when an
   * equivalent exists that plans cheaply (a function's call: the function keeps
   * its own statements planned). The same parameters and result columns.
   */
  unprepared?: string;
}

export interface QueryResult<R> {
  rows: R[];
  rowCount: number;
}

/** Something SQL can be sent to: a provider, one of its connections, or a transaction. */
export interface Queryable {
  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[], options?: QueryOptions): Promise<QueryResult<R>>;
  /** Several statements, no parameters (migration files). */
  exec(sql: string, options?: QueryOptions): Promise<void>;
}

export type ProviderKind = 'postgres' | 'embedded';

export interface ProviderDescription {
  name: string;
  kind: ProviderKind;
  role: 'primary' | 'replica';
  /** Where it points, with the password removed. */
  target: string;
}

/** Per-call options for a transaction. */
export interface TransactionOptions {
  /**
   * Settings (e.g. agentmem.tenant_id) for this transaction only
   * (`set_config(…, true)`). Never session state: through a transaction pooler
   * the next transaction may run on another server connection, with another
   * client's session.
   */
  settings?: Readonly<Record<string, string>>;
  /**
   * fn sends exactly one statement: BEGIN, the settings, the statement and
   * COMMIT go to the server together, in one round trip.
   */
  single?: boolean;
}

export interface PoolStats {
  total: number;
  idle: number;
  waiting: number;
}

/**
 * One Postgres endpoint. There are two implementations: a pooled connection to
 * a server (`PgProvider`) and the embedded PGlite database (`EmbeddedProvider`).
 * Errors leave a provider as AgentmemErrors already classified: connection-level
 * (ProviderUnavailableError / ProviderTimeoutError) or SQL (QueryError).
 */
export interface Provider extends Queryable {
  readonly name: string;
  readonly kind: ProviderKind;
  readonly role: 'primary' | 'replica';
  readonly timeouts: Timeouts;
  describe(): ProviderDescription;
  /**
   * One dedicated connection for a sequence of statements that need a session
   * (an advisory lock held across transactions). Through a transaction pooler
   * there is no such session: use `direct()`.
   */
  withConnection<T>(fn: (connection: Queryable) => Promise<T>): Promise<T>;
  /** BEGIN … COMMIT on one connection, with the settings for this transaction; ROLLBACK when fn throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>, options?: TransactionOptions): Promise<T>;
  /**
   * fn on a dedicated connection inside one transaction, with COPY in and out
   * (backups, restores). Committed when fn returns, rolled back when it throws.
   */
  bulk<T>(fn: (session: BulkSession) => Promise<T>, options?: BulkOptions): Promise<T>;
  /**
   * True when the provider's URL goes through a transaction pooler (PgBouncer;
   * Neon's and Supabase's pooled URLs), so it cannot hold a session.
   */
  readonly pooled: boolean;
  poolStats(): PoolStats;
  /** A health probe (`SELECT 1`) bounded by timeoutMs, on a connection of its own where the provider has a pool. */
  ping(timeoutMs: number): Promise<void>;
  /**
   * The connection for work that needs a session or must see every tenant
   * (migrations, replication, verify, health counts, schema fix): the
   * provider's `directUrl` when one is configured, else this provider itself.
   */
  direct(): Provider;
  close(): Promise<void>;
}

/**
 * One dedicated connection holding one transaction, with COPY: what backups
 * and restores stream through. The text format of COPY is the same on
 * PostgreSQL and PGlite, so an archive from one restores into the other.
 */
export interface BulkSession extends Queryable {
  /** `COPY <source> TO STDOUT` (source: `schema.table (cols)` or `(SELECT …)`): the data as it streams. */
  copyOut(source: string): AsyncIterable<Uint8Array>;
  /** `COPY <target> FROM STDIN` (target: `schema.table (cols)`), fed with the chunks; resolves with the rows copied. */
  copyIn(target: string, chunks: AsyncIterable<Uint8Array>): Promise<number>;
}

export interface BulkOptions {
  /** One snapshot for every statement (a consistent backup). */
  isolation?: 'repeatable read' | 'read committed';
  readOnly?: boolean;
  /**
   * Run in this exported snapshot (`pg_export_snapshot()` of another open
   * transaction): a second connection reading the very same data, in parallel.
   */
  snapshot?: string;
  /** A stream that moves no data for this long is given up (a paused server): default 60 s. */
  stallMs?: number;
}
