/**
 * Memory that is kept well, measured on a real server:
 *   - dedupe:   remember() of distinct facts with exact deduplication on vs off (alternating rounds), and with
 *               near-duplicate linking on (an embedding and a nearest-neighbour lookup per write) vs off;
 *               also remember() of a fact already stored (returns the existing id) vs a new one.
 *   - purge:    BENCH_PURGE_ROWS (1,000,000) memories past their retention TTL expired by `retention` (batches of
 *               retention.batchSize, tombstones + history) vs one raw UPDATE of the same rows in one statement; a writer
 *               in another tenant runs remember() the whole time, and its latencies during each side are reported
 *               (no long locks: writes keep flowing).
 * Prints JSON. Sizes: BENCH_DEDUPE (2000 per side), BENCH_ROUNDS (5), BENCH_PURGE_ROWS (1000000).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { AgentMemory, createMemory, loadConfig } from '../src/index.js';
import { startCluster } from '../test/harness/postgres.js';
import { alternate, benchServer, LIBRARY, summarize } from './stats.js';

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const DEDUPE = env('BENCH_DEDUPE', 2000);
const ROUNDS = env('BENCH_ROUNDS', 5);
const PURGE_ROWS = env('BENCH_PURGE_ROWS', 1_000_000);
const SERVER = { shared_buffers: '1GB', effective_cache_size: '4GB', work_mem: '16MB', max_wal_size: '4GB' };

const out: Record<string, unknown> = {
  bench: 'lifecycle',
  library: LIBRARY,
  server: { postgres: benchServer(), ...SERVER },
};
const cluster = await startCluster(1, undefined, SERVER);
const server = cluster.servers[0] as (typeof cluster.servers)[0];
try {
  const config = await loadConfig({
    cwd: mkdtempSync(join(tmpdir(), 'agentmem-bench-')),
    env: {},
    overrides: { providers: [{ name: 'bench', url: server.url(), pool: { max: 4 } }] },
  });
  const memory = await createMemory({ workers: false, config, migrate: true, tenant: 'bench' });
  await memory.settings.list();
  const variant = (tenant: string, dedupe: Partial<AgentMemory['storeContext']['dedupe']>) =>
    new AgentMemory(
      memory.forTenant(tenant).storeContext.with({ dedupe: { ...memory.storeContext.dedupe, ...dedupe } }),
      config,
      undefined,
    );

  // 1. Deduplication's cost on a write.
  {
    const on = variant('dedupe-on', {});
    const off = variant('dedupe-off', { exact: false });
    const fact = (i: number) => `decision ${i}: use pump ${i % 97} on line ${i % 13} after the ${i}th inspection`;
    await alternate(
      100,
      (i) => off.memories.remember({ type: 'decision', content: `warm ${i}` }),
      (i) => on.memories.remember({ type: 'decision', content: `warm ${i}` }),
      1,
    );
    const exact = await alternate(
      DEDUPE / ROUNDS,
      (i) => off.memories.remember({ type: 'decision', content: fact(i) }),
      (i) => on.memories.remember({ type: 'decision', content: fact(i) }),
      ROUNDS,
    );
    // The same facts again: found and returned, nothing stored.
    const repeat = await alternate(
      DEDUPE / ROUNDS,
      (i) => off.memories.remember({ type: 'decision', content: `${fact(i)} (new)` }),
      (i) => on.memories.remember({ type: 'decision', content: fact(i) }),
      ROUNDS,
    );
    const nearOn = variant('near-on', { near: { enabled: true, threshold: 0.92, window: 2000 } });
    const nearOff = variant('near-off', {});
    const near = await alternate(
      DEDUPE / ROUNDS,
      (i) => nearOff.memories.remember({ type: 'context', content: fact(i) }),
      (i) => nearOn.memories.remember({ type: 'context', content: fact(i) }),
      ROUNDS,
    );
    out.dedupe = {
      exact: {
        off: exact.baseline,
        on: exact.agentmem,
        ratio_on_vs_off: Number((exact.agentmem.per_second / exact.baseline.per_second).toFixed(3)),
      },
      duplicate_write: {
        new_fact_dedupe_off: repeat.baseline,
        existing_fact_dedupe_on: repeat.agentmem,
        ratio: Number((repeat.agentmem.per_second / repeat.baseline.per_second).toFixed(3)),
      },
      near: {
        off: near.baseline,
        on: near.agentmem,
        window: 2000,
        ratio_on_vs_off: Number((near.agentmem.per_second / near.baseline.per_second).toFixed(3)),
      },
    };
  }

  // 2. Purging expired rows while writes go on.
  {
    const raw = new pg.Pool({ connectionString: server.url(), max: 2 });
    const seed = async (tenant: string) => {
      const started = performance.now();
      // Bulk seed without history (as replication applies rows): the bench measures the purge, not the seeding.
      await raw.query(
        `DO $$ BEGIN
           PERFORM set_config('agentmem.replicating', 'on', true);
           INSERT INTO agentmem.memories (tenant_id, id, memory_type, content, created_at, version, origin)
           SELECT '${tenant}', gen_random_uuid(), 'log', to_jsonb('old log line ' || g), now() - interval '40 days', 1000 + g, 'bench'
             FROM generate_series(1, ${PURGE_ROWS}) g;
         END $$`,
      );
      return Math.round(performance.now() - started);
    };
    const seedMs = { baseline: await seed('purge-raw'), agentmem: await seed('purge-agentmem') };
    await raw.query('VACUUM ANALYZE agentmem.memories');

    /** remember() in another tenant, back to back, until stopped: the latencies a user sees during the purge. */
    const writer = () => {
      const live = memory.forTenant('live-writes');
      const ms: number[] = [];
      let running = true;
      const loop = (async () => {
        for (let i = 0; running; i++) {
          const t = performance.now();
          await live.memories.remember({ type: 'action', content: `write ${i} during the purge` });
          ms.push(performance.now() - t);
        }
      })();
      return {
        async stop() {
          running = false;
          await loop;
          return summarize(ms);
        },
      };
    };

    const before = writer();
    await new Promise((r) => setTimeout(r, 3000));
    const idle = await before.stop();

    let w = writer();
    let started = performance.now();
    const { rowCount } = await raw.query(
      `UPDATE agentmem.memories SET deleted_at = now(), content = 'null'::jsonb, version = version + 1000000000
        WHERE tenant_id = 'purge-raw' AND memory_type = 'log' AND created_at <= now() - interval '30 days' AND deleted_at IS NULL`,
    );
    const baselineMs = performance.now() - started;
    const baselineWrites = await w.stop();

    w = writer();
    started = performance.now();
    const expiry = await memory.forTenant('purge-agentmem').retention.expire({
      policies: { log: { ttlDays: 30, mode: 'soft' } },
      batchSize: config.retention.batchSize,
    });
    const agentmemMs = performance.now() - started;
    const agentmemWrites = await w.stop();
    const expired = expiry.types.find((t) => t.type === 'log')?.expired ?? 0;
    await raw.end();
    out.purge = {
      rows: PURGE_ROWS,
      seed_ms: seedMs,
      baseline: {
        what: 'one UPDATE of every expired row (one transaction, no history)',
        rows: rowCount,
        seconds: Number((baselineMs / 1000).toFixed(1)),
        rows_per_second: Math.round((rowCount ?? 0) / (baselineMs / 1000)),
        concurrent_writes_ms: baselineWrites,
      },
      agentmem: {
        what: `retention.expire, soft: batches of ${config.retention.batchSize} (tombstone, content erased, change history kept)`,
        rows: expired,
        seconds: Number((agentmemMs / 1000).toFixed(1)),
        rows_per_second: Math.round(expired / (agentmemMs / 1000)),
        concurrent_writes_ms: agentmemWrites,
      },
      writes_with_nothing_running_ms: idle,
    };
  }
  await memory.close();
} finally {
  await cluster.stop();
}
console.log(JSON.stringify(out, null, 2));
