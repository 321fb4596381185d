import pg from 'pg';
import { type ResolvedProvider, redactUrl, type Timeouts } from '../config/index.js';
import { ConfigError } from '../errors/index.js';
import { logger } from '../observability/logger.js';
import { poolWaitSeconds } from '../observability/metrics.js';
import { classifyFailure, toConnectError } from './classify.js';
import { runBulk } from './pg-bulk.js';
import { type ConnectionOwner, carriesExactly, OneStatement, PooledConnection, runQuery, TYPES } from './pg-connection.js';
import { boundedWait } from './timing.js';
import { type TlsInfo, tlsHint, tlsOf, withTlsDefault } from './tls.js';
import { beginWithSettings, carriable, inTransaction, operationServerSettings, settingsToSend, wantedSettings } from './transaction.js';
import type {
  BulkOptions,
  BulkSession,
  PoolStats,
  Provider,
  ProviderDescription,
  Queryable,
  QueryOptions,
  QueryResult,
  TransactionOptions,
} from './types.js';

/** Is this URL a transaction pooler's (PgBouncer; Neon's `-pooler` hosts; Supabase's pooler)? */
export function looksPooled(url: string): boolean {
  try {
    const parsed = new URL(url);
    return (
      parsed.searchParams.get('pgbouncer') === 'true' ||
      parsed.hostname.includes('-pooler.') ||
      parsed.hostname.endsWith('pooler.supabase.com') ||
      parsed.port === '6543'
    );
  } catch {
    return false;
  }
}

/** Where a caller's pool connects, without its password: `host:port/database`. */
function describePool(pool: pg.Pool): string {
  const { connectionString, host, port, database } = pool.options as pg.PoolConfig;
  if (connectionString) return redactUrl(connectionString);
  return `${host ?? 'localhost'}:${port ?? 5432}/${database ?? ''}`;
}

/**
 * agentmem's versions (a hybrid logical clock) are bigints that do not fit a
 * JS number: a caller's pool must hand int8 back as text, as pg does unless
 * told otherwise. Asked once, on the pool's first connection to us.
 */
async function checkInt8(provider: string, client: pg.PoolClient): Promise<void> {
  const { rows } = await client.query<{ v: unknown }>('SELECT 9007199254740993::int8 AS v');
  if (rows[0]?.v !== '9007199254740993') {
    throw new ConfigError(
      `the pg.Pool given to agentmem parses int8 into ${typeof rows[0]?.v}; agentmem needs it as text (pg's default): drop the int8 type parser from that pool, or give agentmem a pool of its own`,
      { provider },
    );
  }
}

/** A provider backed by one pg Pool — one per provider per process, never one per call. */
export class PgProvider implements Provider, ConnectionOwner {
  readonly kind = 'postgres' as const;
  readonly name: string;
  readonly role: 'primary' | 'replica';
  readonly timeouts: Timeouts;
  /** What every operation sets on the server besides the caller's settings (transaction.ts). */
  private readonly serverSettings: Readonly<Record<string, string>>;
  private readonly pool: pg.Pool;
  private readonly target: string;
  private closed = false;
  private directProvider: PgProvider | undefined;
  /** The settings each pooled connection carries at session level (direct connections only; see transaction). */
  private readonly carried = new WeakMap<pg.PoolClient, Map<string, string>>();
  /** Caller's settings merged with serverSettings, per caller's object (see settingsWith). */
  private readonly mergedSettings = new WeakMap<object, Readonly<Record<string, string>>>();
  /** Whether each pooled connection holds one server session (see holdsSession). */
  private readonly sessionful = new WeakMap<pg.PoolClient, boolean>();
  /** Each pooled connection's Queryable (see PooledConnection). */
  private readonly connections = new WeakMap<pg.PoolClient, PooledConnection>();
  /** Pooled connections that reported an error (their one lifelong listener records it). */
  private readonly failed = new WeakMap<pg.Client, Error>();
  /** The health probes' own connection, outside the pool (see ping). */
  private probeClient: pg.Client | undefined;
  readonly pooled: boolean;
  /** The bound the pool puts on every query by itself: a call with another one says so per query. */
  readonly poolQueryTimeoutMs: number | undefined;
  /** A pool the caller made and keeps: never ended here, its int8 parsing checked once (see connect). */
  private readonly callersPool: boolean;
  private callersPoolChecked: Promise<void> | undefined;

  /** With `pool`, runs on the caller's pg.Pool (its connection settings; `config` gives name, role and timeouts). */
  constructor(
    private readonly config: ResolvedProvider,
    pool?: pg.Pool,
  ) {
    if (!config.url && !pool) throw new ConfigError(`provider ${config.name} has no url`, { provider: config.name });
    this.name = config.name;
    this.role = config.role;
    this.timeouts = config.timeouts;
    this.serverSettings = operationServerSettings(config.timeouts);
    this.callersPool = pool !== undefined;
    this.target = config.url ? redactUrl(config.url) : describePool(pool as pg.Pool);
    this.pooled = config.pooler ? config.pooler === 'transaction' : config.url ? looksPooled(config.url) : false;
    this.poolQueryTimeoutMs = pool ? (pool.options as { query_timeout?: number }).query_timeout : config.timeouts.queryMs;
    this.pool = pool ?? this.ownPool(config);
    // Without this listener, a server dying under idle pooled connections crashes the process.
    this.pool.on('error', (error) => {
      logger().warn({ provider: this.name, failure: classifyFailure(error), err: error.message }, 'idle connection lost');
    });
    // Every client gets a listener for its whole life, from the moment it connects: a FATAL
    // (pg_terminate_backend) can arrive in the same network chunk as the first ReadyForQuery,
    // after the pool drops its idle listener and before a caller could attach one.
    this.pool.on('connect', (client) => {
      client.on('error', (error) => {
        // A checked-out connection that failed is destroyed at its release (withClient), never handed to the next caller.
        this.failed.set(client, error);
        logger().debug({ provider: this.name, failure: classifyFailure(error), err: error.message }, 'connection lost');
      });
    });
  }

  private ownPool(config: ResolvedProvider): pg.Pool {
    return new pg.Pool({
      connectionString: withTlsDefault(config.url as string),
      max: config.pool.max,
      idleTimeoutMillis: config.pool.idleTimeoutMs,
      // Client-side bounds: under SIGSTOP only these fire. The server-side ones
      // (statement_timeout, idle_in_transaction_session_timeout) are set per
      // transaction, never as startup parameters: PgBouncer rejects those it does not track.
      connectionTimeoutMillis: config.timeouts.connectMs,
      query_timeout: config.timeouts.queryMs,
      application_name: 'agentmem',
      keepAlive: true,
      types: TYPES,
      // Lets BEGIN, the transaction's settings, a statement and COMMIT go out together.
      pipeline: true,
    } as pg.PoolConfig);
  }

  /**
   * How a client of its own (probes, bulk COPY) connects: by the URL, or
   * with the caller's pool's own connection settings.
   */
  private clientConfig(applicationName: string): pg.ClientConfig {
    const { connectionString, host, port, user, password, database, ssl } = this.pool.options as pg.PoolConfig;
    const where = this.config.url
      ? { connectionString: withTlsDefault(this.config.url) }
      : { connectionString, host, port, user, password, database, ssl };
    return {
      ...where,
      connectionTimeoutMillis: this.timeouts.connectMs,
      application_name: applicationName,
      keepAlive: true,
      types: TYPES,
    } as pg.ClientConfig;
  }

  private tlsHintFor(error: unknown): string | undefined {
    return this.config.url ? tlsHint(error, this.config.url) : undefined;
  }

  describe(): ProviderDescription {
    return { name: this.name, kind: this.kind, role: this.role, target: this.target };
  }

  /** One statement on its own (autocommit), bounded by the client-side timeouts. */
  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[], options?: QueryOptions): Promise<QueryResult<R>> {
    return this.withConnection((connection) => connection.query<R>(sql, params, options));
  }

  async exec(sql: string, options?: QueryOptions): Promise<void> {
    await this.query(sql, undefined, options);
  }

  /**
   * A connection from the pool. Whatever fails while connecting (refused,
   * authentication, TLS, a missing CA file) is a provider failure, never an SQL
   * error: the router moves on to another provider.
   */
  private async connect(): Promise<pg.PoolClient> {
    let client: pg.PoolClient;
    const asked = performance.now();
    try {
      client = await this.pool.connect();
      poolWaitSeconds.observe({ provider: this.name }, (performance.now() - asked) / 1000);
    } catch (error) {
      throw toConnectError(this.name, error, this.timeouts.connectMs, this.tlsHintFor(error));
    }
    if (this.callersPool) {
      try {
        this.callersPoolChecked ??= checkInt8(this.name, client);
        await this.callersPoolChecked;
      } catch (error) {
        client.release();
        throw error;
      }
    }
    return client;
  }

  /** What the TLS handshake of a pooled connection established (protocol, verification, certificate). */
  tls(): Promise<TlsInfo> {
    return this.withClient(async (client) => tlsOf((client as unknown as { connection: { stream: unknown } }).connection.stream));
  }

  /** fn with a checked-out client; a client that broke or timed out is destroyed, never handed to the next caller. */
  private async withClient<T>(fn: (client: pg.PoolClient, connection: PooledConnection) => Promise<T>): Promise<T> {
    const client = await this.connect();
    let connection = this.connections.get(client);
    if (!connection) {
      connection = new PooledConnection(this, client);
      this.connections.set(client, connection);
    }
    connection.broken = undefined;
    try {
      return await fn(client, connection);
    } finally {
      client.release(connection.broken ?? this.failed.get(client) ?? false);
    }
  }

  /** Is this connection known to reach one server session for its whole life (see holdsSession)? */
  holdsOwnSession(client: pg.PoolClient): boolean {
    return this.sessionful.get(client) === true;
  }

  /**
   * A connection with no operation's settings on it: a connection that carries
   * some at session level (see transaction) is reset first, so an ops query
   * never runs as a tenant, and never under an operation's statement_timeout.
   */
  withConnection<T>(fn: (connection: Queryable) => Promise<T>): Promise<T> {
    return this.withClient(async (client, connection) => {
      if (this.carried.has(client)) {
        await connection.query('RESET ALL');
        this.carried.delete(client);
      }
      return fn(connection);
    });
  }

  /**
   * BEGIN, then this transaction's settings — the server-side timeouts and JIT
   * off always (operationServerSettings), plus the caller's (the tenant) — sent together; fn; COMMIT. Nothing
   * outlives the transaction, so it works through a transaction pooler.
   *
   * With `single` (fn sends one statement) on a direct connection (no
   * transaction pooler between: see holdsSession), the
   * settings are kept on the connection at session level and sent only when
   * they change: the statement then goes alone, in autocommit — one message
   * instead of BEGIN, settings, statement and COMMIT, each parsed and
   * executed. When they change, they go with BEGIN, the statement and COMMIT in
   * one round trip, and take effect only if it commits. Every setting a
   * connection carries is either this operation's or blanked (''), so no
   * tenant or actor outlives its operation into another's.
   */
  transaction<T>(fn: (tx: Queryable) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    const settings = this.settingsWith(options.settings);
    return this.withClient(async (client, connection) => {
      const carried = this.carried.get(client);
      // The common case, decided without building anything: one statement on a connection that
      // already carries exactly these settings (only a session's connection carries any).
      if (options.single && carried && carriesExactly(carried, settings)) return fn(new OneStatement(connection));
      const wanted = wantedSettings(settings, carried);
      const pipelined = async <R>(statements: { sql: string; params?: readonly unknown[]; options?: QueryOptions }[]) => {
        // A caller's pool may not pipeline: BEGIN, the statement and COMMIT one after another, rolled back on a failure.
        if (!(client as unknown as { pipeline?: boolean }).pipeline) {
          const answers: QueryResult<R>[] = [];
          try {
            for (const st of statements) answers.push(await connection.query<R>(st.sql, st.params, st.options));
          } catch (error) {
            await connection.query('ROLLBACK').catch(() => undefined);
            throw error;
          }
          return answers;
        }
        // Issued together (pipeline mode) in one write, each through the connection (which marks
        // it broken on a connection failure); every answer is awaited, so every failure is seen.
        const stream = (client as unknown as { connection: { stream: { cork(): void; uncork(): void } } }).connection.stream;
        stream.cork();
        let sent: Promise<QueryResult<R>>[];
        try {
          sent = statements.map((st) => connection.query<R>(st.sql, st.params, st.options));
        } finally {
          stream.uncork();
        }
        const answers = await Promise.allSettled(sent);
        const failure = answers.find((a): a is PromiseRejectedResult => a.status === 'rejected');
        if (failure) throw failure.reason;
        return answers.map((a) => (a as PromiseFulfilledResult<QueryResult<R>>).value);
      };
      if (!options.single) {
        return inTransaction(connection, fn, () => connection.query(beginWithSettings(Object.fromEntries(wanted))));
      }
      const session = carriable(wanted) && (await this.holdsSession(client, connection));
      const changes = session ? settingsToSend(wanted, carried) : Object.fromEntries(wanted);
      return fn(
        new OneStatement({
          query: async <R>(sql: string, params?: readonly unknown[], queryOptions?: QueryOptions) => {
            if (!Object.keys(changes).length) return connection.query<R>(sql, params, queryOptions);
            const begin = beginWithSettings(changes, session ? 'session' : 'transaction');
            const timeout = queryOptions?.timeoutMs === undefined ? undefined : { timeoutMs: queryOptions.timeoutMs };
            const answers = await pipelined<R>([
              { sql: begin, options: timeout },
              { sql, ...(params ? { params } : {}), options: queryOptions },
              { sql: 'COMMIT', options: timeout },
            ]);
            // Committed: the connection carries them now. (Had anything failed, the transaction
            // and its settings would have rolled back, leaving what it carried before.)
            if (session) this.carried.set(client, wanted);
            return answers[1] as QueryResult<R>;
          },
        }),
      );
    });
  }

  /**
   * The server's settings with the caller's, merged once per caller's object:
   * a memory context passes the same (frozen) object on every call. Settings
   * objects are not changed after they are passed (their type is Readonly).
   */
  private settingsWith(own: Readonly<Record<string, string>> | undefined): Readonly<Record<string, string>> {
    if (!own) return this.serverSettings;
    let merged = this.mergedSettings.get(own);
    if (!merged) {
      merged = { ...this.serverSettings, ...own };
      this.mergedSettings.set(own, merged);
    }
    return merged;
  }

  /**
   * Does this connection reach one server session for its whole life, so that
   * settings left on it are still there on its next statement (and nobody
   * else's)? Not through a transaction pooler, whether configured, recognised
   * from the URL or neither: a server's backend pid equals the cancel key's
   * process id it sent at connection start only when nothing sits between
   * (PgBouncer hands out keys of its own). Asked once per connection.
   */
  private async holdsSession(client: pg.PoolClient, connection: Queryable): Promise<boolean> {
    if (this.pooled) return false;
    let known = this.sessionful.get(client);
    if (known === undefined) {
      const { rows } = await connection.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      known = rows[0]?.pid === (client as unknown as { processID: number | null }).processID;
      this.sessionful.set(client, known);
    }
    return known;
  }

  /**
   * A client of its own, outside the pool: COPY streams cannot go through the
   * pool's pipelined connections (see runBulk).
   */
  bulk<T>(fn: (session: BulkSession) => Promise<T>, options: BulkOptions = {}): Promise<T> {
    return runBulk(
      this.name,
      new pg.Client(this.clientConfig('agentmem-bulk')),
      this.timeouts,
      (error) => this.tlsHintFor(error),
      fn,
      options,
    );
  }

  direct(): Provider {
    if (!this.config.directUrl || this.config.directUrl === this.config.url) return this;
    // A small pool of its own: replication, verify and migrations, never the application's traffic.
    this.directProvider ??= new PgProvider({
      ...this.config,
      url: this.config.directUrl,
      directUrl: undefined,
      pooler: undefined,
      pool: { ...this.config.pool, max: Math.min(this.config.pool.max, 4) },
    });
    return this.directProvider;
  }

  poolStats(): PoolStats {
    return { total: this.pool.totalCount, idle: this.pool.idleCount, waiting: this.pool.waitingCount };
  }

  /**
   * `SELECT 1` on a connection of its own, outside the pool: a pool busy with
   * long statements must not make a healthy server look silent (its probes
   * would wait for a pooled connection), and a hung server must (this
   * connection hangs with it). Reconnects after any failure.
   */
  async ping(timeoutMs: number): Promise<void> {
    if (this.closed) throw toConnectError(this.name, new Error('provider closed'), timeoutMs);
    let client = this.probeClient;
    if (!client) {
      const fresh = new pg.Client(this.clientConfig('agentmem-probe'));
      // A server dying under an idle connection emits 'error': forget the connection, never crash.
      fresh.on('error', () => {
        if (this.probeClient === fresh) this.probeClient = undefined;
      });
      try {
        await fresh.connect();
      } catch (error) {
        fresh.end().catch(() => undefined);
        throw toConnectError(this.name, error, this.timeouts.connectMs, this.tlsHintFor(error));
      }
      if (this.closed) {
        fresh.end().catch(() => undefined);
        throw toConnectError(this.name, new Error('provider closed'), timeoutMs);
      }
      this.probeClient = client = fresh;
    }
    try {
      await runQuery(this.name, client, 'SELECT 1', undefined, timeoutMs, undefined);
    } catch (error) {
      if (this.probeClient === client) this.probeClient = undefined;
      // Not awaited: a hung server would make end() wait as long as it hangs.
      client.end().catch(() => undefined);
      throw error;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const probe = this.probeClient;
    this.probeClient = undefined;
    probe?.end().catch(() => undefined);
    // end() waits for every client to close; a paused server must not make shutdown hang. A caller's pool stays theirs.
    await Promise.all([
      this.callersPool
        ? undefined
        : boundedWait(
            this.pool.end().catch(() => undefined),
            this.timeouts.connectMs,
          ),
      this.directProvider?.close(),
    ]);
  }
}
