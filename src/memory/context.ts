import type { AgentmemConfig } from '../config/index.js';
import { asOfRelation, type HistoryTable } from '../core/as-of.js';
import { clock } from '../core/hlc.js';
import { type TableName, tombstoneSet } from '../core/tables.js';
import { AgentmemError, EmbedderError, NotDurableError, OutcomeUnknownError, QueryError, SchemaMissingError } from '../errors/index.js';
import { logger } from '../observability/logger.js';
import { errorsTotal, queryDuration, slowQueriesTotal } from '../observability/metrics.js';
import type { ExecutionContext, Executor, Queryable } from '../providers/index.js';
import { checkedVectors, type Embedder } from './embedders.js';
import { storeEmbeddings } from './recall/embedding-store.js';
import { embeddingTextOf } from './recall/embedding-text.js';

/**
 * The rows of `table` that `key` (conditions on its primary key) selects, read
 * through the primary key whatever the statistics say; the caller tests
 * liveness (deleted_at IS NULL …) outside. Said in one WHERE, a liveness test
 * makes a partial index with the same predicate (memories_type_idx) tie with
 * the key for a planner without statistics — a table filled faster than
 * autovacuum analyzes it — and that index walks every row of the tenant. The
 * fence (OFFSET 0) keeps the test out of the key lookup; `lock` (FOR UPDATE)
 * locks the row found.
 */
export function byKey(table: string, key: string, lock = ''): string {
  return `(SELECT * FROM ${table} WHERE ${key} OFFSET 0${lock ? ` ${lock}` : ''})`;
}

/** The caller's last write, shared by the contexts derived from one store, for read-your-writes. */
export interface WriteTokenHolder {
  last?: { provider: string; at: bigint };
}

export interface StoreParts {
  executor: Executor;
  tenant: string;
  schema: string;
  limits: AgentmemConfig['limits'];
  search: AgentmemConfig['search'];
  dedupe: AgentmemConfig['dedupe'];
  embedder: Embedder;
  token?: WriteTokenHolder;
  /** Operations slower than this are logged and counted (default 500 ms). */
  slowQueryMs?: number;
  /** Who writes (an agent, a user, a job): recorded with every change in the change history. */
  actor?: string;
  /** How memories and messages get their embeddings (recall.embed): `inline` embeds inside the write call. */
  recall?: AgentmemConfig['recall']['embed'];
}

/** What every part of the memory API shares: where to run, for which tenant, with which limits. */
export class StoreContext {
  readonly executor: Executor;
  readonly tenant: string;
  readonly schema: string;
  readonly limits: AgentmemConfig['limits'];
  readonly search: AgentmemConfig['search'];
  readonly dedupe: AgentmemConfig['dedupe'];
  readonly recall: AgentmemConfig['recall']['embed'] | undefined;
  readonly embedder: Embedder;
  readonly token: WriteTokenHolder;
  readonly slowQueryMs: number;
  readonly actor: string | undefined;
  /** The session settings every operation of this context runs with (one object: providers compare it per call). */
  private readonly settings: Readonly<Record<string, string>>;

  constructor(parts: StoreParts) {
    this.actor = parts.actor;
    // Row-level security sees the tenant through this session setting.
    this.settings = Object.freeze({ 'agentmem.tenant_id': parts.tenant, ...(parts.actor ? { 'agentmem.actor': parts.actor } : {}) });
    this.token = parts.token ?? {};
    this.slowQueryMs = parts.slowQueryMs ?? 500;
    this.executor = parts.executor;
    this.tenant = parts.tenant;
    this.schema = parts.schema;
    this.limits = parts.limits;
    this.search = parts.search;
    this.dedupe = parts.dedupe;
    this.embedder = parts.embedder;
    this.recall = parts.recall;
  }

  /** The same context with some parts replaced (another tenant, executor or embedder). */
  with(parts: Partial<StoreParts>): StoreContext {
    return new StoreContext({ ...this, ...parts });
  }

  /** Schema-qualified table name. */
  table(name: TableName): string {
    return `${this.schema}.${name}`;
  }

  /**
   * Delete the tenant's live row of `name` whose `key` columns hold these
   * values: a tombstone (what the table erases of its content erased) that
   * replicates. False when there was no such row.
   */
  deleteRow(operation: string, name: TableName, key: Record<string, unknown>): Promise<boolean> {
    const columns = Object.keys(key);
    const where = columns.map((column, i) => `${column} = $${i + 2}`).join(' AND ');
    const version = `$${columns.length + 2}`;
    const origin = `$${columns.length + 3}`;
    return this.write(
      operation,
      async (tx, { provider }) => {
        const { rowCount } = await tx.query(
          `UPDATE ${this.table(name)} SET ${tombstoneSet(name, version, origin)}
            WHERE tenant_id = $1 AND ${where} AND deleted_at IS NULL`,
          [this.tenant, ...Object.values(key), this.version(), provider],
        );
        return rowCount > 0;
      },
      { single: true },
    );
  }

  /**
   * What a read selects FROM: the table, or with `asOf` its rows as they were
   * then (from the change history; the time, and `only`'s value — a record
   * filter pushed into the history scan — are appended to `params`, whose $1
   * must be the tenant).
   */
  from(name: HistoryTable, params: unknown[], asOf?: Date, only?: { column: string; value: string }): string {
    if (!asOf) return this.table(name);
    params.push(asOf);
    const at = `$${params.length}::timestamptz`;
    // The filter value as a text parameter of its own: the caller's placeholder keeps the type it has there (a uuid).
    if (only) params.push(only.value);
    const filter = only ? { only: { column: only.column, value: `$${params.length}` } } : {};
    return `${asOfRelation(name, { schema: this.schema, tenant: '$1', at, ...filter })} AS ${name}`;
  }

  /**
   * Embed texts and check what came back before any of it reaches SQL: one
   * vector per text, each of the embedder's dimension, every number finite and
   * within a 4-byte float (pgvector's and real[]'s range).
   */
  async embed(texts: string[]): Promise<number[][]> {
    return checkedVectors(await this.embedder.embed(texts), texts.length, this.embedder);
  }

  /**
   * With `recall.embed.mode: inline`, embed the memories and messages just
   * written (those of the embedded types still without one) before the write
   * call returns, so a search right after finds them by meaning. A failure is
   * an EmbedderError naming the rows, which are stored and wait for the
   * worker; in the other modes this does nothing.
   */
  async embedInline(ids: string[]): Promise<void> {
    if (this.recall?.mode !== 'inline' || !ids.length) return;
    const types = this.recall.types;
    const rows = await this.read(
      'embedding.inline',
      async (tx) =>
        (
          await tx.query<{ tenant_id: string; id: string; content: unknown }>(
            `SELECT tenant_id, id::text AS id, content FROM ${byKey(this.table('memories'), 'tenant_id = $1 AND id = ANY($2::uuid[])')} m
              WHERE embedding IS NULL AND deleted_at IS NULL
                AND namespace IS NULL AND memory_type = ANY($3::text[])`,
            [this.tenant, ids, types],
          )
        ).rows,
      { single: true },
    );
    if (!rows.length) return;
    let vectors: number[][];
    try {
      vectors = await this.embed(rows.map((r) => embeddingTextOf(r.content)));
    } catch (error) {
      throw notYetEmbedded(
        rows.map((r) => r.id),
        error,
      );
    }
    await this.write('embedding.inline', (tx, { provider }) =>
      storeEmbeddings(tx, this.schema, rows, vectors, this.embedder, this.version(), provider),
    );
  }

  /** A fresh version for a write. */
  version(): string {
    return clock.now().toString();
  }

  /**
   * A write; `single: true` when fn sends exactly one statement (no BEGIN/COMMIT
   * needed). `ids` are the ids the write uses: when its outcome is unknown or it
   * is not yet durable, the error carries them, so the caller can retry the very
   * same write (ids the library generated included).
   */
  async write<T>(
    operation: string,
    fn: (tx: Queryable, context: ExecutionContext) => Promise<T>,
    options: { single?: boolean; ids?: Record<string, string> } = {},
  ): Promise<T> {
    try {
      return await this.run('write', operation, fn, options);
    } catch (error) {
      if (options.ids && (error instanceof OutcomeUnknownError || error instanceof NotDurableError))
        Object.assign(error.details, options.ids);
      throw error;
    }
  }

  read<T>(operation: string, fn: (tx: Queryable, context: ExecutionContext) => Promise<T>, options: { single?: boolean } = {}): Promise<T> {
    return this.run('read', operation, fn, options);
  }

  private async run<T>(
    kind: 'read' | 'write',
    operation: string,
    fn: (tx: Queryable, context: ExecutionContext) => Promise<T>,
    options: { single?: boolean },
  ): Promise<T> {
    const started = performance.now();
    // The slow-query log times the statements, from when the provider runs them: a first call's
    // start-up (opening the embedded database, migrating it) is not a slow query.
    let queryStarted = started;
    let ranOn: string | undefined;
    try {
      const result = await this.executor[kind](
        operation,
        (tx, context) => {
          ranOn = context.provider;
          queryStarted = performance.now();
          return fn(tx, context);
        },
        {
          transaction: !options.single,
          settings: this.settings,
          ...(kind === 'read' && this.token.last ? { after: this.token.last } : {}),
        },
      );
      if (kind === 'write' && ranOn) this.token.last = { provider: ranOn, at: clock.now() };
      observeOperation(operation, ranOn, started, queryStarted, this.slowQueryMs);
      return result;
    } catch (error) {
      observeOperation(operation, ranOn, started, queryStarted, this.slowQueryMs);
      errorsTotal.inc({ class: error instanceof AgentmemError ? error.code : 'INTERNAL', operation });
      if (
        error instanceof QueryError &&
        (error.sqlState === '42P01' || error.sqlState === '3F000') &&
        error.message.includes(this.schema)
      ) {
        throw new SchemaMissingError(this.schema);
      }
      throw error;
    }
  }
}

/** The error classes alert rules watch; each operation's series start at 0 the first time it runs. */
const ALERTED_CLASSES = ['PROVIDER_UNAVAILABLE', 'PROVIDER_TIMEOUT', 'QUERY_FAILED', 'OUTCOME_UNKNOWN', 'NOT_DURABLE', 'INTERNAL'];
const seenOperations = new Set<string>();

/**
 * Duration per operation and provider, and the slow-query log: operation name,
 * provider and duration only — never parameters, which may hold user content.
 */
function observeOperation(
  operation: string,
  provider: string | undefined,
  started: number,
  queryStarted: number,
  slowQueryMs: number,
): void {
  const now = performance.now();
  if (!seenOperations.has(operation)) {
    seenOperations.add(operation);
    for (const errorClass of ALERTED_CLASSES) errorsTotal.inc({ class: errorClass, operation }, 0);
  }
  const labels = { operation, provider: provider ?? 'none' };
  queryDuration.observe(labels, (now - started) / 1000);
  const ms = now - queryStarted;
  if (ms >= slowQueryMs) {
    slowQueriesTotal.inc(labels);
    logger().warn({ operation, provider: labels.provider, durationMs: Math.round(ms * 10) / 10, thresholdMs: slowQueryMs }, 'slow query');
  }
}

/** The rows were stored, but the embedder failed on them: the embedding worker embeds them later. */
export function notYetEmbedded(ids: string[], error: unknown): EmbedderError {
  return new EmbedderError(`stored, not yet embedded (the embedding worker will embed it): ${(error as Error).message}`, { ids });
}
