import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { btree_gin } from '@electric-sql/pglite/contrib/btree_gin';
import { vector } from '@electric-sql/pglite-pgvector';
import lockfile from 'proper-lockfile';
import type { ResolvedProvider, Timeouts } from '../config/index.js';
import { ConfigError, DataDirLockedError, serveFileFor } from '../errors/index.js';
import { logger } from '../observability/logger.js';
import { beginStatement } from './bulk.js';
import { toProviderError } from './classify.js';
import { STALE_TABLES_SQL, STATISTICS_INTERVAL_MS } from './embedded-statistics.js';
import { beginWithSettings, carriable, inTransaction, settingsToSend, wantedSettings } from './transaction.js';
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

type Release = () => Promise<void>;

/**
 * A new data directory's starting contents: a dump of a database that already
 * has the current schema (`dumpDataDir`), or undefined to create an empty one.
 */
export type EmbeddedSeed = () => Promise<Blob | undefined>;

/** The `agentmem serve` that says it holds this data directory, if its process is alive. */
function servingProcess(dataDir: string): { url: string; pid: number } | undefined {
  try {
    const server = JSON.parse(readFileSync(serveFileFor(dataDir), 'utf8')) as { url: string; pid: number };
    process.kill(server.pid, 0);
    return server;
  } catch {
    return undefined;
  }
}

/**
 * The embedded database: PGlite (Postgres compiled to WASM) in a local data
 * directory, with pgvector. PGlite does not lock its directory, and two
 * processes writing it corrupt it, so we hold a lock file for as long as it is open.
 * PGlite is one session: every statement goes through one queue here, and a
 * connection or transaction holds the queue until it ends.
 */
export class EmbeddedProvider implements Provider {
  readonly kind = 'embedded' as const;
  readonly name: string;
  readonly role: 'primary' | 'replica';
  readonly timeouts: Timeouts;
  readonly dataDir: string;
  private queue: Promise<unknown> = Promise.resolve();
  /** The settings the session carries from single statements (see transaction). */
  private carried: Map<string, string> | undefined;
  private closed = false;
  /** Keeps the planner statistics current while the database is open (see analyzeStale); unref'd. */
  private readonly statistics: NodeJS.Timeout;

  private constructor(
    config: ResolvedProvider,
    private readonly db: PGlite,
    private readonly releaseLock: Release,
  ) {
    this.name = config.name;
    this.role = config.role;
    this.timeouts = config.timeouts;
    this.dataDir = config.dataDir ?? '';
    this.statistics = setInterval(() => void this.analyzeStale(), STATISTICS_INTERVAL_MS).unref();
  }

  /** Open the data directory; a new (absent or empty) one starts from `seed`'s dump when it gives one. */
  static async open(config: ResolvedProvider, seed?: EmbeddedSeed): Promise<EmbeddedProvider> {
    const dataDir = config.dataDir;
    if (!dataDir) throw new ConfigError(`embedded provider ${config.name} has no dataDir`, { provider: config.name });
    mkdirSync(dirname(dataDir), { recursive: true });
    let release: Release;
    try {
      release = await lockfile.lock(dataDir, {
        realpath: false,
        lockfilePath: `${dataDir}.lock`,
        stale: 10_000,
        update: 2_000,
        retries: 0,
        onCompromised: (error) => logger().error({ dataDir, err: error.message }, 'embedded data directory lock lost'),
      });
    } catch (error) {
      if ((error as { code?: string }).code === 'ELOCKED') throw new DataDirLockedError(dataDir, servingProcess(dataDir));
      throw error;
    }
    try {
      const loadDataDir = seed && (!existsSync(dataDir) || readdirSync(dataDir).length === 0) ? await seed() : undefined;
      if (loadDataDir) logger().debug({ provider: config.name, dataDir }, 'new embedded database from the packaged schema snapshot');
      const db = await PGlite.create(dataDir, {
        // btree_gin: the metadata index holds the tenant (migration 0020).
        extensions: { vector, btree_gin },
        // Same shapes as the pg driver gives: int8 as a string.
        parsers: { 20: (value: string) => value },
        ...(loadDataDir ? { loadDataDir } : {}),
      });
      return new EmbeddedProvider(config, db, release);
    } catch (error) {
      await release().catch(() => undefined);
      throw error;
    }
  }

  describe(): ProviderDescription {
    return { name: this.name, kind: this.kind, role: this.role, target: `embedded:${this.dataDir}` };
  }

  /** Run fn alone: PGlite has one session, so interleaving would mix transactions. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private readonly session: Queryable = {
    query: async <R>(sql: string, params?: readonly unknown[], options?: QueryOptions): Promise<QueryResult<R>> => {
      try {
        // Nothing is prepared here: a statement's cheaper-to-plan equivalent goes instead.
        const result = await this.db.query<R>(options?.unprepared ?? sql, params as unknown[] | undefined);
        return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length };
      } catch (error) {
        throw toProviderError(this.name, error, this.timeouts.queryMs);
      }
    },
    exec: async (sql: string): Promise<void> => {
      try {
        await this.db.exec(sql);
      } catch (error) {
        throw toProviderError(this.name, error, this.timeouts.queryMs);
      }
    },
  };

  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[], options?: QueryOptions): Promise<QueryResult<R>> {
    return this.withConnection((session) => session.query<R>(sql, params, options));
  }

  exec(sql: string): Promise<void> {
    return this.withConnection((session) => session.exec(sql));
  }

  /** Nothing pools in front of an embedded database. */
  readonly pooled = false;

  withConnection<T>(fn: (connection: Queryable) => Promise<T>): Promise<T> {
    return this.exclusive(async () => {
      await this.resetCarried();
      return fn(this.session);
    });
  }

  /** No operation's settings outside its operation: what the session carries is reset first. */
  private async resetCarried(): Promise<void> {
    if (!this.carried) return;
    await this.session.exec('RESET ALL');
    this.carried = undefined;
  }

  /**
   * fn in a transaction with its settings. With `single` (one statement) the
   * settings stay on the session (PGlite has exactly one) and are sent only
   * when they change, so the statement runs alone instead of as four calls
   * into the database (BEGIN, settings, statement, COMMIT). Each operation sets
   * or blanks every setting the session carries (see wantedSettings).
   */
  transaction<T>(fn: (tx: Queryable) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    return this.exclusive(async () => {
      const wanted = wantedSettings(options.settings ?? {}, this.carried);
      // BEGIN and the settings go as one simple-protocol message: one call into the database, not two.
      if (!options.single || !carriable(wanted))
        return inTransaction(this.session, fn, () => this.session.exec(beginWithSettings(Object.fromEntries(wanted))));
      const changes = settingsToSend(wanted, this.carried);
      if (!Object.keys(changes).length) return fn(this.session);
      const result = await inTransaction(this.session, fn, () => this.session.exec(beginWithSettings(changes, 'session')));
      // Committed with it: the session carries them now (a rollback would have undone them).
      this.carried = wanted;
      return result;
    });
  }

  /**
   * PGlite has no COPY stream: COPY goes through its `/dev/blob` device, a
   * whole table at a time (an embedded database is a prototype's, small).
   */
  bulk<T>(fn: (session: BulkSession) => Promise<T>, options: BulkOptions = {}): Promise<T> {
    const fail = (error: unknown) => toProviderError(this.name, error, this.timeouts.queryMs);
    const session: BulkSession = {
      ...this.session,
      copyOut: (source) => {
        const db = this.db;
        return (async function* () {
          let blob: Blob | undefined;
          try {
            blob = (await db.query(`COPY ${source} TO '/dev/blob'`)).blob;
          } catch (error) {
            throw fail(error);
          }
          if (!blob) return;
          const bytes = new Uint8Array(await blob.arrayBuffer());
          for (let at = 0; at < bytes.length; at += 1 << 20) yield bytes.subarray(at, at + (1 << 20));
        })();
      },
      copyIn: async (target, chunks) => {
        const parts: Uint8Array[] = [];
        for await (const chunk of chunks) parts.push(chunk);
        try {
          const result = await this.db.query(`COPY ${target} FROM '/dev/blob'`, [], { blob: new Blob(parts as unknown as ArrayBuffer[]) });
          return result.affectedRows ?? 0;
        } catch (error) {
          throw fail(error);
        }
      },
    };
    return this.exclusive(async () => {
      await this.resetCarried();
      return inTransaction(session, fn, () => session.query(beginStatement(options)));
    });
  }

  /** The embedded database answers in this process: a probe is a query. */
  async ping(_timeoutMs: number): Promise<void> {
    // Straight to the session: `SELECT 1` needs no reset of what the session carries.
    await this.exclusive(() => this.session.query('SELECT 1'));
  }

  poolStats(): PoolStats {
    return { total: 1, idle: 1, waiting: 0 };
  }

  /** One database, one session: the embedded provider is its own direct connection. */
  direct(): Provider {
    return this;
  }

  /**
   * ANALYZE the tables that grew since their statistics were taken (see
   * embedded-statistics.ts): every STATISTICS_INTERVAL_MS while open, and on
   * close, so the next process to open the directory plans with them. Returns
   * the tables analyzed; a failure is logged, never thrown (plans get slower, nothing breaks).
   */
  async analyzeStale(): Promise<string[]> {
    try {
      return await this.exclusive(async () => {
        if (this.db.closed) return [];
        await this.resetCarried();
        const { rows } = await this.session.query<{ name: string }>(STALE_TABLES_SQL);
        for (const { name } of rows) await this.session.exec(`ANALYZE ${name}`);
        return rows.map((row) => row.name);
      });
    } catch (error) {
      logger().warn({ provider: this.name, err: (error as Error).message }, 'could not analyze the embedded tables; plans may be slower');
      return [];
    }
  }

  /** The whole data directory as a gzipped tar (what `EmbeddedSeed` gives a new directory). */
  dump(): Promise<Blob> {
    return this.exclusive(() => this.db.dumpDataDir('gzip'));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    clearInterval(this.statistics);
    await this.analyzeStale();
    this.closed = true;
    await this.exclusive(() => this.db.close()).catch(() => undefined);
    await this.releaseLock().catch(() => undefined);
  }
}
