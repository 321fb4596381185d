/**
 * Failover speed on three real servers, and the router's cost per call against
 * a raw pg pool in the same run. Prints JSON.
 *   - time from SIGKILL of the primary to the first successful write on the next provider
 *   - the same from SIGSTOP (a hung server: only timeouts and probes can tell)
 *   - the longest stall any writer saw around the fault
 * BENCH_TRIALS (5) trials of each fault (each trial's time, and min–median–max: the target holds when the worst
 * trial does); BENCH_ROUNDS (3000) calls for the overhead.
 */
import pg from 'pg';
import { ProviderSet, Router } from '../src/ops/index.js';
import { startCluster } from '../test/harness/postgres.js';
import { migrateAll, routedStore } from '../test/harness/router-cluster.js';
import { LIBRARY, spread, summarize, timeEach } from './stats.js';

const TRIALS = Number(process.env.BENCH_TRIALS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3000);
const WRITERS = 4;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const cluster = await startCluster(3);
const out: Record<string, unknown> = { bench: 'failover', library: LIBRARY, servers: 3, writers: WRITERS, trials: TRIALS };
try {
  await migrateAll(cluster);
  const p1 = cluster.server('p1');

  async function trial(fault: 'kill' | 'stop') {
    const s = await routedStore(cluster);
    const successes: { at: number; provider: string }[] = [];
    let running = true;
    let longestStall = 0;
    const loops = Array.from({ length: WRITERS }, async (_, w) => {
      let last = performance.now();
      for (let i = 0; running; i++) {
        try {
          await s.memory.memories.remember({ type: 'log', content: { w, i } });
          const now = performance.now();
          successes.push({ at: now, provider: s.memory.router?.currentWriter ?? '?' });
          longestStall = Math.max(longestStall, now - last);
          last = now;
        } catch {
          /* counted as a stall */
        }
      }
    });
    // A random moment, so the trials do not all hit the same phase of the 250 ms probe cycle.
    await sleep(700 + Math.random() * 500);
    const faultAt = performance.now();
    if (fault === 'kill') await p1.kill();
    else p1.pause();
    while (!successes.some((x) => x.at > faultAt && x.provider !== 'p1') && performance.now() - faultAt < 30_000) await sleep(5);
    await sleep(500);
    running = false;
    await Promise.all(loops);
    const first = successes.find((x) => x.at > faultAt && x.provider !== 'p1');
    await s.close();
    if (fault === 'kill') await p1.start();
    else p1.resume();
    await sleep(300);
    return { toFirstWriteMs: first ? first.at - faultAt : Number.NaN, longestStallMs: longestStall };
  }

  for (const fault of ['kill', 'stop'] as const) {
    const runs = [];
    for (let t = 0; t < TRIALS; t++) runs.push(await trial(fault));
    // Each trial's time, and their spread: with a few trials the worst is what a p99 would be, and is named so.
    out[fault === 'kill' ? 'sigkill' : 'sigstop'] = {
      to_first_write_on_next_ms: { ...spread(runs.map((r) => r.toFirstWriteMs)), target: fault === 'kill' ? 1000 : 1500 },
      longest_write_stall_ms: Math.round(Math.max(...runs.map((r) => r.longestStallMs))),
    };
  }

  // Router overhead: the same one-statement read through the router and through a raw pool.
  {
    const s = await routedStore(cluster);
    const set = ProviderSet.fromConfig(s.config);
    const router = await Router.open(set);
    const raw = new pg.Pool({ connectionString: p1.url(), max: 1 });
    const sql = 'SELECT $1::int AS n';
    for (let i = 0; i < 300; i++) {
      await raw.query(sql, [i]);
      await router.read('bench', (tx) => tx.query(sql, [i]), { transaction: false });
    }
    const rawTimes = summarize(await timeEach(ROUNDS, (i) => raw.query(sql, [i])));
    const routed = summarize(await timeEach(ROUNDS, (i) => router.read('bench', (tx) => tx.query(sql, [i]), { transaction: false })));
    out.router_overhead = {
      baseline_raw_pool_ms: rawTimes,
      router_ms: routed,
      overhead_p50_ms: Number((routed.p50 - rawTimes.p50).toFixed(4)),
    };
    await raw.end();
    await router.stop();
    await set.close();
    await s.close();
  }
  console.log(JSON.stringify(out, null, 2));
} finally {
  await cluster.stop();
}
