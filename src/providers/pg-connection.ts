/**
 * A pg connection as agentmem's Queryable: every call bounded by a
 * client-side timeout, failures classified (a connection that failed is never
 * reused), statements marked `prepare` named once per text.
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import type { Timeouts } from '../config/index.js';
import { classifyFailure, toProviderError } from './classify.js';
import type { Queryable, QueryOptions, QueryResult } from './types.js';

/**
 * int8 stays a string (as PGlite is configured too): a bigint HLC does not fit a
 * JS number. Set per pool, never through pg.types globally, so an application
 * that embeds agentmem keeps its own parsing.
 */
export const TYPES = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8 ? (value: string) => value : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

export type PgQueryable = Pick<pg.PoolClient, 'query'>;

/** What a pooled connection asks of the provider that owns it. */
export interface ConnectionOwner {
  readonly name: string;
  readonly timeouts: Timeouts;
  /** The bound the pool puts on every query by itself. */
  readonly poolQueryTimeoutMs: number | undefined;
  /** Is this connection known to reach one server session for its whole life? */
  holdsOwnSession(client: pg.PoolClient): boolean;
}

export async function runQuery<R>(
  provider: string,
  target: PgQueryable,
  sql: string,
  params: readonly unknown[] | undefined,
  timeoutMs: number,
  defaultTimeoutMs: number | undefined,
  name?: string,
  checkout?: { broken: Error | undefined },
): Promise<QueryResult<R>> {
  try {
    // query_timeout per call is a client-side bound: it fires even when the server is paused (SIGSTOP).
    // The pool's own query_timeout is the default one; only another bound, or a prepared statement's
    // name, needs a config object (which pg copies property by property on every call).
    const values = params as unknown[] | undefined;
    const config: (pg.QueryConfig & { query_timeout?: number }) | undefined =
      name || timeoutMs !== defaultTimeoutMs ? { text: sql, values } : undefined;
    if (config && timeoutMs !== defaultTimeoutMs) config.query_timeout = timeoutMs;
    if (config && name) config.name = name;
    const result = await (config ? target.query(config) : target.query(sql, values));
    return { rows: result.rows as R[], rowCount: result.rowCount ?? 0 };
  } catch (error) {
    const failure = toProviderError(provider, error, timeoutMs);
    // A connection that failed (not an SQL error) is destroyed at its release, never reused.
    if (checkout && classifyFailure((failure as { cause?: unknown }).cause ?? failure) !== 'sql') checkout.broken = failure;
    throw failure;
  }
}

/** A Queryable for an operation of one statement: the first statement goes through; a second one is a bug, refused. */
export class OneStatement implements Queryable {
  private sent = false;

  constructor(private readonly connection: Pick<Queryable, 'query'>) {}

  query<R>(sql: string, params?: readonly unknown[], options?: QueryOptions): Promise<QueryResult<R>> {
    if (this.sent) return Promise.reject(new Error('a single-statement operation sent a second statement'));
    this.sent = true;
    return this.connection.query<R>(sql, params, options);
  }

  async exec(sql: string, options?: QueryOptions): Promise<void> {
    await this.query(sql, undefined, options);
  }
}

/**
 * A pooled connection as a Queryable, made once per connection and reused by
 * every checkout of it (a fresh object and closures per call were a
 * measurable part of a write's allocation). `broken` is per checkout: reset
 * when the connection is handed out, set when a call on it fails as a
 * connection (not an SQL error), read at its release.
 */
export class PooledConnection implements Queryable {
  broken: Error | undefined;

  constructor(
    private readonly provider: ConnectionOwner,
    readonly client: pg.PoolClient,
  ) {}

  query<R>(sql: string, params?: readonly unknown[], options?: QueryOptions): Promise<QueryResult<R>> {
    const provider = this.provider;
    // Named (prepared once per connection) only where the connection is known to be its own server session.
    const name = options?.prepare && provider.holdsOwnSession(this.client) ? preparedName(sql) : undefined;
    const timeouts = provider.timeouts;
    return runQuery<R>(
      provider.name,
      this.client,
      name ? sql : (options?.unprepared ?? sql),
      params,
      options?.timeoutMs ?? timeouts.queryMs,
      provider.poolQueryTimeoutMs,
      name,
      this,
    );
  }

  async exec(sql: string, options?: QueryOptions): Promise<void> {
    await this.query(sql, undefined, options);
  }
}

/** Does the connection carry these settings and no others (so an operation needs to send none)? */
export function carriesExactly(carried: ReadonlyMap<string, string>, settings: Readonly<Record<string, string>>): boolean {
  let count = 0;
  for (const name in settings) {
    if (carried.get(name) !== settings[name]) return false;
    count++;
  }
  return count === carried.size;
}

const preparedNames = new Map<string, string>();

/** The name a prepared statement goes by: from its text, so one text has one name on every connection. */
export function preparedName(sql: string): string {
  let name = preparedNames.get(sql);
  if (!name) {
    name = `agentmem_${createHash('sha256').update(sql).digest('hex').slice(0, 24)}`;
    // Only the few statements marked `prepare` come here; bounded all the same.
    if (preparedNames.size >= 1000) preparedNames.clear();
    preparedNames.set(sql, name);
  }
  return name;
}
