/**
 * A hybrid logical clock: 48 bits of wall-clock milliseconds and a 16-bit
 * counter in one bigint. Every write gets a version from it; replication keeps
 * the higher version, so "last writer wins" is deterministic even when two
 * providers' clocks disagree a little.
 */
const COUNTER_BITS = 16n;
const COUNTER_MASK = (1n << COUNTER_BITS) - 1n;

export class HybridLogicalClock {
  private last = 0n;

  constructor(private readonly wallClock: () => number = Date.now) {}

  /** A version strictly greater than every version this clock has issued or seen. */
  now(): bigint {
    const physical = BigInt(this.wallClock()) << COUNTER_BITS;
    this.last = physical > this.last ? physical : this.last + 1n;
    return this.last;
  }

  /** Take a version seen from elsewhere into account (a replicated row, a peer). */
  observe(remote: bigint): void {
    if (remote > this.last) this.last = remote;
  }

  static wallTime(version: bigint): Date {
    return new Date(Number(version >> COUNTER_BITS));
  }

  static counter(version: bigint): number {
    return Number(version & COUNTER_MASK);
  }
}

/** The process-wide clock. */
export const clock = new HybridLogicalClock();
