/**
 * LangGraph checkpoints, side by side on one server in one run: agentmem's
 * AgentmemSaver against @langchain/langgraph-checkpoint-postgres's
 * PostgresSaver, each in its own schema:
 *   - put and getTuple throughput, each sitting interleaving the two in rounds of 100 calls;
 *   - the checkpoint tables' size after BENCH_CHECKPOINT_STEPS steps of one thread
 *     (a state that grows a little each step), agentmem with retention (keep the newest 10,
 *     then tombstones purged) and without, against PostgresSaver (which has no retention).
 * Prints JSON (min–median–max over BENCH_SITTINGS sittings).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { emptyCheckpoint, uuid6 } from '@langchain/langgraph-checkpoint';
import { PostgresSaver } from '@langchain/langgraph-checkpoint-postgres';
import pg from 'pg';
import { AgentmemSaver } from '../src/adapters/langgraph.js';
import { loadConfig } from '../src/index.js';
import { purgeTombstones } from '../src/ops/index.js';
import { Runtime } from '../src/runtime/index.js';
import { startCluster } from '../test/harness/postgres.js';
import { alternate, LIBRARY, spread } from './stats.js';

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const SITTINGS = env('BENCH_SITTINGS', 3);
const CALLS = env('BENCH_CHECKPOINT_CALLS', 1000);
const STEPS = env('BENCH_CHECKPOINT_STEPS', 10_000);
const SERVER = { shared_buffers: '512MB', max_wal_size: '4GB' };

type Saver = AgentmemSaver | PostgresSaver;

/**
 * One thread's steps, one call each: each checkpoint changes one channel (a
 * message list that grows) and keeps another.
 */
function thread(saver: Saver, id: string): (i: number) => Promise<string> {
  let config = { configurable: { thread_id: id, checkpoint_ns: '' } } as Parameters<Saver['put']>[0];
  const messages: string[] = [];
  return async (i) => {
    messages.push(`message ${i}: ${'x'.repeat(40)}`);
    if (messages.length > 20) messages.shift();
    const checkpoint = { ...emptyCheckpoint(), id: uuid6(i), channel_values: { messages: [...messages], settings: { model: 'm' } } };
    checkpoint.channel_versions = { messages: i + 1, settings: 1 };
    config = await saver.put(
      config,
      checkpoint,
      { source: 'loop', step: i, parents: {} },
      i === 0 ? { messages: 1, settings: 1 } : { messages: i + 1 },
    );
    return checkpoint.id;
  };
}

/** `count` steps of one thread. */
async function steps(saver: Saver, id: string, count: number): Promise<void> {
  const step = thread(saver, id);
  for (let i = 0; i < count; i++) await step(i);
}

async function tableBytes(raw: pg.Pool, schema: string, tables: string[]): Promise<number> {
  const { rows } = await raw.query<{ n: string }>(
    `SELECT coalesce(sum(pg_total_relation_size(format('%I.%I', $1::text, t))), 0)::text AS n FROM unnest($2::text[]) t`,
    [schema, tables],
  );
  return Number(rows[0]?.n ?? 0);
}

const out: Record<string, unknown> = { bench: 'checkpoint', library: LIBRARY, server: { postgres: '15 (harness, loopback)', ...SERVER } };
const cluster = await startCluster(1, undefined, SERVER);
const server = cluster.servers[0] as (typeof cluster.servers)[0];
const raw = new pg.Pool({ connectionString: server.url(), max: 4 });
raw.on('error', () => undefined);
try {
  const config = await loadConfig({
    cwd: mkdtempSync(join(tmpdir(), 'agentmem-bench-')),
    env: {},
    overrides: { providers: [{ name: 'bench', url: server.url(), pool: { max: 10 } }] },
  });
  const runtime = Runtime.fromConfig(config);
  const root = await runtime.memory({ migrate: true });
  await root.settings.list();
  const theirPool = new pg.Pool({ connectionString: server.url(), max: 10 });
  theirPool.on('error', () => undefined);
  const theirs = new PostgresSaver(theirPool, undefined, { schema: 'langgraph' });
  await raw.query('CREATE SCHEMA IF NOT EXISTS langgraph');
  await theirs.setup();

  // 1. put and getTuple throughput, after a warm-up of each (connections, prepared plans, caches), untimed.
  await steps(new AgentmemSaver({ memory: root.forTenant('bench-warm') }), 'warm', 200);
  await steps(theirs, 'warm', 200);
  // Each sitting interleaves the two in rounds of ROUND calls (theirs, ours, theirs, ours…), so drift on the
  // machine falls on both alike.
  const ROUND = 100;
  const putRatio: number[] = [];
  const getRatio: number[] = [];
  for (let sitting = 0; sitting < SITTINGS; sitting++) {
    const ours = new AgentmemSaver({ memory: root.forTenant(`bench-${sitting}`) });
    const [ourThread, theirThread] = [`put-a-${sitting}`, `put-l-${sitting}`];
    const put = await alternate(ROUND, thread(theirs, theirThread), thread(ours, ourThread), CALLS / ROUND);
    const latest = (saver: Saver, id: string) => () => saver.getTuple({ configurable: { thread_id: id, checkpoint_ns: '' } });
    const get = await alternate(ROUND, latest(theirs, theirThread), latest(ours, ourThread), CALLS / ROUND);
    putRatio.push(put.throughput_ratio);
    getRatio.push(get.throughput_ratio);
  }
  out.put_throughput_ratio_vs_postgres_saver = { ...spread(putRatio), calls: CALLS, target: 1 };
  out.get_tuple_throughput_ratio_vs_postgres_saver = { ...spread(getRatio), calls: CALLS, target: 1 };

  // 2. Table size after STEPS steps of one thread.
  const ourTables = ['checkpoints', 'checkpoint_blobs', 'checkpoint_writes'];
  const theirTables = ['checkpoints', 'checkpoint_blobs', 'checkpoint_writes'];
  await raw.query('TRUNCATE agentmem.checkpoints, agentmem.checkpoint_blobs, agentmem.checkpoint_writes');
  await raw.query('TRUNCATE langgraph.checkpoints, langgraph.checkpoint_blobs, langgraph.checkpoint_writes');
  const sized = root.forTenant('bench-size');
  await steps(new AgentmemSaver({ memory: sized }), 'long', STEPS);
  await steps(theirs, 'long', STEPS);
  await raw.query('VACUUM ANALYZE agentmem.checkpoints, agentmem.checkpoint_blobs, langgraph.checkpoints, langgraph.checkpoint_blobs');
  const withoutRetention = await tableBytes(raw, 'agentmem', ourTables);
  const theirsBytes = await tableBytes(raw, 'langgraph', theirTables);
  const pruned = await sized.checkpoints.prune({ keepLatest: 10 });
  await purgeTombstones(await runtime.allProviders(), 'agentmem', { olderThanMs: 0 });
  await raw.query('VACUUM FULL agentmem.checkpoints, agentmem.checkpoint_blobs, agentmem.checkpoint_writes');
  const withRetention = await tableBytes(raw, 'agentmem', ourTables);
  out.table_bytes_after_steps = {
    steps: STEPS,
    agentmem_without_retention: withoutRetention,
    agentmem_with_retention_keep_10: withRetention,
    postgres_saver: theirsBytes,
    pruned,
  };
  await theirPool.end();
  await runtime.close();
} finally {
  await raw.end();
  await cluster.stop();
}
console.log(JSON.stringify(out, null, 2));
