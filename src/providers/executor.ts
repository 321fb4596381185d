import type { ProviderSet } from './provider-set.js';
import type { Provider, Queryable } from './types.js';

/** What a logical operation learns about where it ran. */
export interface ExecutionContext {
  /** The provider that ran it (written into `origin` on every row a write touches). */
  provider: string;
}

export interface ExecutionOptions {
  /**
   * Wrap fn in BEGIN … COMMIT (default true). An operation that is a single
   * statement passes false: the statement is atomic on its own, and it saves
   * two round trips.
   */
  transaction?: boolean;
  /** Session settings the connection must carry (the tenant, for row-level security). */
  settings?: Readonly<Record<string, string>>;
  /** Reads: the caller's last write, which the answering provider must already hold. */
  after?: { provider: string; at: bigint };
  /** Writes: `sync` acknowledges only after a second provider committed the same operation too. */
  ack?: 'async' | 'sync';
}

/**
 * Where the memory API sends its work. Each call is one logical operation run
 * in one transaction on one provider — never split across providers. The
 * `operation` name labels metrics, logs and the slow-query log.
 */
export interface Executor {
  write<T>(operation: string, fn: (tx: Queryable, context: ExecutionContext) => Promise<T>, options?: ExecutionOptions): Promise<T>;
  read<T>(operation: string, fn: (tx: Queryable, context: ExecutionContext) => Promise<T>, options?: ExecutionOptions): Promise<T>;
}

/**
 * How far one run got, for telling "failed, nothing written" from "may have
 * committed". `maybeCommitted` turns true when the work could take effect on
 * the server even if the caller never hears back: a single statement once it
 * is sent, a transaction once its COMMIT is.
 */
export interface RunProgress {
  maybeCommitted: boolean;
}

/** Run one logical operation on one provider, as the options ask. */
export function runOn<T>(
  provider: Provider,
  fn: (tx: Queryable, context: ExecutionContext) => Promise<T>,
  options: ExecutionOptions = {},
  progress: RunProgress = { maybeCommitted: false },
): Promise<T> {
  const context = { provider: provider.name };
  if (options.transaction === false && !options.settings) {
    return provider.withConnection((c) => {
      progress.maybeCommitted = true;
      return fn(c, context);
    });
  }
  if (options.transaction === false) {
    // One statement with this transaction's settings (the tenant): sent with BEGIN and COMMIT in one round trip.
    return provider.transaction(
      (tx) => {
        progress.maybeCommitted = true;
        return fn(tx, context);
      },
      { settings: options.settings, single: true },
    );
  }
  // A failure before COMMIT rolls the transaction back (also when the connection dies).
  return provider.transaction(
    async (tx) => {
      const result = await fn(tx, context);
      progress.maybeCommitted = true;
      return result;
    },
    options.settings ? { settings: options.settings } : {},
  );
}

/**
 * Sends every operation to the primary provider, opened on first use. The
 * multi-provider Router (failover, latency routing) implements the same
 * Executor interface and replaces this when several providers are configured.
 */
export class PrimaryExecutor implements Executor {
  constructor(private readonly set: ProviderSet) {}

  async write<T>(_operation: string, fn: (tx: Queryable, context: ExecutionContext) => Promise<T>, options?: ExecutionOptions): Promise<T> {
    return runOn(await this.set.primary(), fn, options);
  }

  read<T>(operation: string, fn: (tx: Queryable, context: ExecutionContext) => Promise<T>, options?: ExecutionOptions): Promise<T> {
    return this.write(operation, fn, options);
  }
}

/** Sends every operation to one given provider: no routing, no failover (self-tests, per-provider checks). */
export class DirectExecutor implements Executor {
  constructor(private readonly provider: Provider) {}

  write<T>(_operation: string, fn: (tx: Queryable, context: ExecutionContext) => Promise<T>, options?: ExecutionOptions): Promise<T> {
    return runOn(this.provider, fn, options);
  }

  read<T>(operation: string, fn: (tx: Queryable, context: ExecutionContext) => Promise<T>, options?: ExecutionOptions): Promise<T> {
    return this.write(operation, fn, options);
  }
}
