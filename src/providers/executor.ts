import type { Queryable } from './types.js';

/** What a logical operation learns about where it ran. */
export interface ExecutionContext {
  /** The provider that ran it (written into `origin` on every row a write touches). */
  provider: string;
}

/**
 * Where the memory API sends its work. Each call is one logical operation run
 * in one transaction on one provider — never split across providers. The
 * `operation` name labels metrics, logs and the slow-query log.
 */
export interface Executor {
  write<T>(operation: string, fn: (tx: Queryable, context: ExecutionContext) => Promise<T>): Promise<T>;
  read<T>(operation: string, fn: (tx: Queryable, context: ExecutionContext) => Promise<T>): Promise<T>;
}
