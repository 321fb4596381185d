import type { BulkOptions } from './types.js';

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
