import pg from 'pg';
import { type ResolvedProvider, redactUrl, type Timeouts } from '../config/index.js';
import { logger } from '../observability/logger.js';
import { classifyFailure, toConnectError, toProviderError } from './classify.js';
import { boundedWait } from './timing.js';
import { applySessionSettings, inTransaction } from './transaction.js';
import type { ConnectionOptions, PoolStats, Provider, ProviderDescription, Queryable, QueryOptions, QueryResult } from './types.js';

/**
 * int8 stays a string (as PGlite is configured too): a bigint HLC does not fit a
 * JS number. Set per pool, never through pg.types globally, so an application
 * that embeds agentmem keeps its own parsing.
 */
const TYPES = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8 ? (value: string) => value : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

type PgQueryable = Pick<pg.PoolClient, 'query'>;

async function runQuery<R>(
  provider: string,
  target: PgQueryable,
  sql: string,
  params: readonly unknown[] | undefined,
  timeoutMs: number,
): Promise<QueryResult<R>> {
  try {
    // query_timeout per call is a client-side bound: it fires even when the server is paused (SIGSTOP).
    const result = await target.query({ text: sql, values: params as unknown[] | undefined, query_timeout: timeoutMs } as pg.QueryConfig);
    return { rows: result.rows as R[], rowCount: result.rowCount ?? 0 };
  } catch (error) {
    throw toProviderError(provider, error, timeoutMs);
  }
}

/** A provider backed by one pg Pool — one per provider per process, never one per call. */
export class PgProvider implements Provider {
  readonly kind = 'postgres' as const;
  readonly name: string;
  readonly role: 'primary' | 'replica';
  readonly timeouts: Timeouts;
  private readonly pool: pg.Pool;
  private readonly target: string;
  private closed = false;
  private directProvider: PgProvider | undefined;

  constructor(private readonly config: ResolvedProvider) {
    if (!config.url) throw new Error(`provider ${config.name} has no url`);
    this.name = config.name;
    this.role = config.role;
    this.timeouts = config.timeouts;
    this.target = redactUrl(config.url);
    this.pool = new pg.Pool({
      connectionString: config.url,
      max: config.pool.max,
      idleTimeoutMillis: config.pool.idleTimeoutMs,
      // All three bounds, always: under SIGSTOP only the client-side ones fire.
      connectionTimeoutMillis: config.timeouts.connectMs,
      query_timeout: config.timeouts.queryMs,
      statement_timeout: config.timeouts.statementMs,
      idle_in_transaction_session_timeout: config.timeouts.idleInTransactionMs,
      application_name: 'agentmem',
      keepAlive: true,
      types: TYPES,
    });
    // Without this listener, a server dying under idle pooled connections crashes the process.
    this.pool.on('error', (error) => {
      logger().warn({ provider: this.name, failure: classifyFailure(error), err: error.message }, 'idle connection lost');
    });
    // Every client gets a listener for its whole life, from the moment it connects: a FATAL
    // (pg_terminate_backend) can arrive in the same network chunk as the first ReadyForQuery,
    // after the pool drops its idle listener and before a caller could attach one.
    this.pool.on('connect', (client) => {
      client.on('error', (error) => {
        logger().debug({ provider: this.name, failure: classifyFailure(error), err: error.message }, 'connection lost');
      });
    });
  }

  describe(): ProviderDescription {
    return { name: this.name, kind: this.kind, role: this.role, target: this.target };
  }

  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[], options?: QueryOptions): Promise<QueryResult<R>> {
    return this.withConnection((connection) => connection.query<R>(sql, params, options));
  }

  async exec(sql: string, options?: QueryOptions): Promise<void> {
    await this.query(sql, undefined, options);
  }

  /** Session settings each pooled connection carries now (gone with the connection). */
  private readonly sessionSettings = new WeakMap<pg.PoolClient, Map<string, string>>();

  /**
   * A connection from the pool. Whatever fails while connecting (refused,
   * authentication, TLS, a missing CA file) is a provider failure, never an SQL
   * error: the router moves on to another provider.
   */
  private async connect(): Promise<pg.PoolClient> {
    try {
      return await this.pool.connect();
    } catch (error) {
      throw toConnectError(this.name, error, this.timeouts.connectMs);
    }
  }

  async withConnection<T>(fn: (connection: Queryable) => Promise<T>, options: ConnectionOptions = {}): Promise<T> {
    const client = await this.connect();
    let broken: Error | undefined;
    // Marks the connection for destruction; the pool's per-client listener keeps the process alive.
    const onError = (error: Error) => {
      broken = error;
    };
    client.on('error', onError);
    const connection: Queryable = {
      query: async <R>(sql: string, params?: readonly unknown[], options?: QueryOptions) => {
        try {
          return await runQuery<R>(this.name, client, sql, params, options?.timeoutMs ?? this.timeouts.queryMs);
        } catch (error) {
          if (classifyFailure((error as { cause?: unknown }).cause ?? error) !== 'sql') broken = error as Error;
          throw error;
        }
      },
      exec: async (sql: string, options?: QueryOptions) => {
        await connection.query(sql, undefined, options);
      },
    };
    try {
      const applied = this.sessionSettings.get(client) ?? new Map<string, string>();
      this.sessionSettings.set(client, applied);
      await applySessionSettings(connection, options.settings, applied);
      return await fn(connection);
    } finally {
      client.off('error', onError);
      // A connection that timed out or broke is destroyed, never handed to the next caller.
      client.release(broken ?? false);
    }
  }

  transaction<T>(fn: (tx: Queryable) => Promise<T>, options?: ConnectionOptions): Promise<T> {
    return this.withConnection((connection) => inTransaction(connection, fn), options);
  }

  direct(): Provider {
    if (!this.config.directUrl || this.config.directUrl === this.config.url) return this;
    // A small pool of its own: replication, verify and migrations, never the application's traffic.
    this.directProvider ??= new PgProvider({
      ...this.config,
      url: this.config.directUrl,
      directUrl: undefined,
      pool: { ...this.config.pool, max: Math.min(this.config.pool.max, 4) },
    });
    return this.directProvider;
  }

  poolStats(): PoolStats {
    return { total: this.pool.totalCount, idle: this.pool.idleCount, waiting: this.pool.waitingCount };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // end() waits for every client to close; a paused server must not make shutdown hang.
    await Promise.all([
      boundedWait(
        this.pool.end().catch(() => undefined),
        this.timeouts.connectMs,
      ),
      this.directProvider?.close(),
    ]);
  }
}
