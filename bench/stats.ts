import { cpus } from 'node:os';

/** Latency samples in milliseconds → the figures every bench prints. */
export function summarize(samples: number[]): { n: number; mean: number; p50: number; p95: number; p99: number; max: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  const round = (v: number) => Number(v.toFixed(4));
  const mean = sorted.reduce((s, v) => s + v, 0) / (sorted.length || 1);
  return {
    n: sorted.length,
    mean: round(mean),
    p50: round(at(0.5)),
    p95: round(at(0.95)),
    p99: round(at(0.99)),
    max: round(sorted.at(-1) ?? 0),
  };
}

export async function timeEach(rounds: number, fn: (i: number) => Promise<unknown>): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const started = performance.now();
    await fn(i);
    samples.push(performance.now() - started);
  }
  return samples;
}

/**
 * `rounds` alternating rounds of `perRound` calls each of the baseline and agentmem,
 * the side that goes first alternating too (a side going first in every round would
 * always meet the other's leftovers: a table grown, dirty buffers to write);
 * per-call latencies and total time of each side.
 */
export async function alternate(
  perRound: number,
  baseline: (i: number) => Promise<unknown>,
  agentmem: (i: number) => Promise<unknown>,
  rounds: number,
) {
  const sides = { baseline: { ms: [] as number[], total: 0 }, agentmem: { ms: [] as number[], total: 0 } };
  let i = 0;
  for (let round = 0; round < rounds; round++) {
    const order = [
      ['baseline', baseline],
      ['agentmem', agentmem],
    ] as const;
    for (const [name, fn] of round % 2 ? [...order].reverse() : order) {
      const side = sides[name];
      const started = performance.now();
      for (let k = 0; k < perRound; k++) {
        const t = performance.now();
        await fn(i + k);
        side.ms.push(performance.now() - t);
      }
      side.total += performance.now() - started;
    }
    i += perRound;
  }
  const calls = perRound * rounds;
  return {
    calls_each: calls,
    rounds,
    baseline: { per_second: Math.round(calls / (sides.baseline.total / 1000)), ms: summarize(sides.baseline.ms) },
    agentmem: { per_second: Math.round(calls / (sides.agentmem.total / 1000)), ms: summarize(sides.agentmem.ms) },
    throughput_ratio: Number((sides.baseline.total / sides.agentmem.total).toFixed(3)),
  };
}

/** How this bench runs the library: the build users run (npm run bench), or the source through tsx (run directly). */
export const LIBRARY = import.meta.url.endsWith('.js')
  ? 'compiled by tsc, run by node (as shipped)'
  : 'source through tsx (slower per call)';

/** Each sitting's figure (rounded to 3 decimals) and their min, median and max: a target holds when its worst sitting does. */
export function spread(values: number[]): { min: number; median: number; max: number; sittings: number[] } {
  const r = (v: number | undefined) => Math.round((v ?? 0) * 1000) / 1000;
  const sorted = [...values].sort((a, b) => a - b);
  return { min: r(sorted[0]), median: r(sorted[Math.floor(sorted.length / 2)]), max: r(sorted.at(-1)), sittings: values.map(r) };
}

/** The server the benches start: PostgreSQL 15 with pgvector from the test harness, on loopback, on this machine's cores. */
export function benchServer(): string {
  return `15 + pgvector (harness, loopback, ${cpus().length} cores)`;
}

/**
 * `alternate` in `sittings` sittings: the last sitting's figures, and the throughput ratio of each
 * sitting with its min–median–max and the target it is held to (in the worst sitting).
 */
export async function alternateSittings(
  sittings: number,
  perRound: number,
  baseline: (i: number) => Promise<unknown>,
  agentmem: (i: number) => Promise<unknown>,
  rounds: number,
  target: number,
) {
  const runs = [];
  for (let sitting = 0; sitting < sittings; sitting++) runs.push(await alternate(perRound, baseline, agentmem, rounds));
  const last = runs.at(-1) as Awaited<ReturnType<typeof alternate>>;
  return { ...last, sittings, throughput_ratio: { ...spread(runs.map((r) => r.throughput_ratio)), target } };
}

/** The order of a sitting's sides: the list turned by one place each sitting, so each side goes first in turn. */
export function rotation<T>(sides: readonly T[], sitting: number): T[] {
  return sides.map((_, k) => sides[(sitting + k) % sides.length] as T);
}
