import type { Queryable } from './types.js';

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

export function beginStatement(options: BulkOptions): string {
  return `BEGIN ISOLATION LEVEL ${(options.isolation ?? 'read committed').toUpperCase()}${options.readOnly ? ' READ ONLY' : ''}`;
}

/**
 * Calls `onStall` when `touch()` has not been called for `ms`: a COPY to or
 * from a paused server (SIGSTOP) would otherwise wait forever, as no query
 * timeout applies to a stream.
 */
export function stallWatch(ms: number, onStall: () => void): { touch(): void; stop(): void } {
  let last = Date.now();
  const timer = setInterval(
    () => {
      if (Date.now() - last > ms) {
        clearInterval(timer);
        onStall();
      }
    },
    Math.min(1000, ms),
  );
  return {
    touch: () => {
      last = Date.now();
    },
    stop: () => clearInterval(timer),
  };
}
