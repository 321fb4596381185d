/**
 * Replication on three real servers. Prints JSON:
 *   - steady-state lag under a write load: acknowledgement on the writer → visible on another provider (p50/p99)
 *   - catch-up rate after an outage of BENCH_OUTAGE_ROWS (100k) rows, against the floor of moving the
 *     same rows between the two servers: a binary COPY piped from one into the other
 *   - `sync verify` time over BENCH_VERIFY_ROWS (1M) rows per provider
 */
import { randomUUID } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { PgProvider, Replicator, verifyProviders } from '../src/ops/index.js';
import { REPLICATED_TABLES } from '../src/replication/index.js';
import { startCluster } from '../test/harness/postgres.js';
import { providerConfig } from '../test/harness/providers.js';
import { migrateAll, routedStore } from '../test/harness/router-cluster.js';
import { LIBRARY, summarize } from './stats.js';

const OUTAGE_ROWS = Number(process.env.BENCH_OUTAGE_ROWS ?? 100_000);
const VERIFY_ROWS = Number(process.env.BENCH_VERIFY_ROWS ?? 1_000_000);
const LOAD_SECONDS = Number(process.env.BENCH_LOAD_SECONDS ?? 5);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Rows made by the server itself (deterministic ids), the way a bulk of writes would land. */
const bulkInsert = (tenant: string, rows: number, origin: string) => `
  INSERT INTO agentmem.memories (tenant_id, id, memory_type, content, metadata, created_at, version, origin)
  SELECT '${tenant}', md5('${tenant}' || g)::uuid, 'log', jsonb_build_object('n', g, 'text', 'row ' || g), '{}',
         timestamptz '2026-01-01 00:00:00+00' + g * interval '1 second', 1000000 + g, '${origin}'
    FROM generate_series(1, ${rows}) g`;

/**
 * The floor of moving the outage's rows between two servers: COPY (binary) out of p1 piped into COPY
 * on p2, into a copy of the table with its indexes and defaults (no triggers: no change history, no
 * conflict checks). Replication does more per row; this says how much more. Seconds.
 */
async function copyFloor(fromUrl: string, toUrl: string): Promise<number> {
  const from = new pg.Client({ connectionString: fromUrl });
  const to = new pg.Client({ connectionString: toUrl });
  await Promise.all([from.connect(), to.connect()]);
  try {
    await to.query(`DROP TABLE IF EXISTS public.catch_up_floor;
      CREATE TABLE public.catch_up_floor (LIKE agentmem.memories INCLUDING DEFAULTS INCLUDING INDEXES INCLUDING GENERATED)`);
    const { rows } = await from.query<{ name: string }>(
      `SELECT quote_ident(column_name) AS name FROM information_schema.columns
        WHERE table_schema = 'agentmem' AND table_name = 'memories' AND is_generated = 'NEVER' AND column_name <> 'change_xid'
        ORDER BY ordinal_position`,
    );
    const columns = rows.map((r) => r.name).join(', ');
    const started = performance.now();
    await pipeline(
      from.query(copyTo(`COPY (SELECT ${columns} FROM agentmem.memories WHERE tenant_id = 'outage') TO STDOUT (FORMAT binary)`)),
      to.query(copyFrom(`COPY public.catch_up_floor (${columns}) FROM STDIN (FORMAT binary)`)),
    );
    const seconds = (performance.now() - started) / 1000;
    await to.query('DROP TABLE public.catch_up_floor');
    return seconds;
  } finally {
    await Promise.all([from.end(), to.end()]);
  }
}

const cluster = await startCluster(3);
const out: Record<string, unknown> = { bench: 'replication', library: LIBRARY, servers: 3 };
const direct = () =>
  cluster.servers.map((s) => new PgProvider(providerConfig(s, { name: s.name, pool: { max: 4, idleTimeoutMs: 10_000 } })));
try {
  await migrateAll(cluster);

  // 1. Steady-state lag: 2 writers for LOAD_SECONDS through a routed store replicating every 100 ms.
  {
    const s = await routedStore(cluster, { replication: { enabled: true, intervalMs: 100 } });
    const [, p2] = direct();
    const pending = new Map<string, number>();
    const lags: number[] = [];
    let running = true;
    let written = 0;
    const writers = Array.from({ length: 2 }, async () => {
      while (running) {
        const id = randomUUID();
        await s.memory.memories.remember({ id, type: 'log', content: { at: Date.now() } });
        written++;
        if (written % 20 === 0) pending.set(id, performance.now());
      }
    });
    const poller = (async () => {
      while (running || pending.size) {
        if (pending.size) {
          const ids = [...pending.keys()];
          const { rows } = await (p2 as PgProvider).query<{ id: string }>('SELECT id FROM agentmem.memories WHERE id = ANY($1::uuid[])', [
            ids,
          ]);
          const now = performance.now();
          for (const r of rows) {
            lags.push(now - (pending.get(r.id) as number));
            pending.delete(r.id);
          }
        }
        await sleep(10);
        if (!running && pending.size && lags.length > 10_000) break;
      }
    })();
    await sleep(LOAD_SECONDS * 1000);
    running = false;
    await Promise.all(writers);
    await Promise.race([poller, sleep(10_000)]);
    await s.close();
    await (p2 as PgProvider).close();
    out.steady_state = {
      writes: written,
      write_rate_per_s: Math.round(written / LOAD_SECONDS),
      sampled: lags.length,
      lag_ms: summarize(lags),
      target_p99_ms: 1000,
    };
  }

  // 2. Catch-up after an outage: p2 is down while OUTAGE_ROWS rows land on p1.
  {
    const providers = direct();
    const [p1, p2] = providers as [PgProvider, PgProvider];
    const replicator = new Replicator({ schema: 'agentmem', batchSize: 5000, maxBatches: 100_000 });
    for (const table of REPLICATED_TABLES) await replicator.syncTable(p1, p2, table); // start from caught up
    await cluster.server('p2').kill();
    cluster.server('p1').psql(bulkInsert('outage', OUTAGE_ROWS, 'p1'), 'postgres', 1_200_000);
    await cluster.server('p2').start();
    const started = performance.now();
    const result = await replicator.syncTable(p1, p2, REPLICATED_TABLES.find((t) => t.name === 'memories')!);
    const seconds = (performance.now() - started) / 1000;
    const floor = await copyFloor(cluster.server('p1').url(), cluster.server('p2').url());
    out.catch_up = {
      rows: OUTAGE_ROWS,
      applied: result.applied,
      seconds: Number(seconds.toFixed(2)),
      rows_per_second: Math.round(result.applied / seconds),
      baseline_copy: { seconds: Number(floor.toFixed(2)), rows_per_second: Math.round(OUTAGE_ROWS / floor) },
      throughput_ratio: Number((floor / seconds).toFixed(3)),
    };
    await Promise.all(providers.map((p) => p.close()));
  }

  // 3. Verify over VERIFY_ROWS identical rows on every provider.
  {
    for (const s of cluster.servers) s.psql(bulkInsert('verify', VERIFY_ROWS, 'bench'), 'postgres', 1_200_000);
    const providers = direct();
    // Settle first: every pair caught up both ways, so verify compares converged providers (equal: true is the expectation).
    const settle = new Replicator({ schema: 'agentmem', batchSize: 5000, maxBatches: 100_000 });
    for (const from of providers) {
      for (const to of providers) {
        if (from !== to) for (const table of REPLICATED_TABLES) await settle.syncTable(from, to, table);
      }
    }
    const started = performance.now();
    const report = await verifyProviders(providers, 'agentmem');
    const seconds = (performance.now() - started) / 1000;
    const rowsPerProvider = Number(cluster.servers[0]!.psql('SELECT count(*) FROM agentmem.memories').trim());
    out.verify = {
      rows_per_provider: rowsPerProvider,
      providers: providers.length,
      seconds: Number(seconds.toFixed(2)),
      equal: report.equal,
    };
    await Promise.all(providers.map((p) => p.close()));
  }
  console.log(JSON.stringify(out, null, 2));
} finally {
  await cluster.stop();
}
