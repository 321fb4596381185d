/**
 * Recall by meaning, measured on a real server with its baselines in the same run:
 *   - a seeded corpus: BENCH_RECALL_USERS users × BENCH_RECALL_SESSIONS sessions of BENCH_RECALL_TURNS messages,
 *     and BENCH_RECALL_MEMORIES memories per user, with planted facts: per user a supersession chain
 *     ("lives in X" → "moved to Y") among lexical distractors ("X is a lovely city to visit");
 *   - the embedding worker's drain rate with the local embedder (rows/s);
 *   - user-scoped hybrid memory search and message search latency, in BENCH_SITTINGS sittings
 *     (min–median–max of each sitting's p95), against exact search of the same filter in SQL;
 *   - latest-value accuracy on the supersession chains (top hit is the newest city), and the same
 *     question asked of an ADD-only store (superseded facts included), as the baseline;
 *   - recall@10 of the vector leg against exact cosine of the same filter;
 *   - addMessage with the worker running (worker mode) against a raw INSERT of the same row,
 *     alternated in rounds;
 *   - latency as one user's history grows (BENCH_RECALL_GROWTH, comma-separated memory counts: 100, 10k and 100k).
 * Prints JSON. Defaults are small (a few minutes on 2 cores); the targets are stated for 1M memories
 * and 2M messages (BENCH_RECALL_USERS=1000 BENCH_RECALL_MEMORIES=1000 …).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { clock } from '../src/core/hlc.js';
import { createMemory, loadConfig } from '../src/index.js';
import { LocalHashEmbedder } from '../src/ops/index.js';
import { Runtime } from '../src/runtime/index.js';
import { startCluster } from '../test/harness/postgres.js';
import { seeded } from '../test/harness/seeded.js';
import { alternate, benchServer, LIBRARY, spread, summarize, timeEach } from './stats.js';

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const USERS = env('BENCH_RECALL_USERS', 40);
const SESSIONS = env('BENCH_RECALL_SESSIONS', 5);
const TURNS = env('BENCH_RECALL_TURNS', 20);
const MEMORIES = env('BENCH_RECALL_MEMORIES', 100);
const QUERIES = env('BENCH_RECALL_QUERIES', 100);
const SITTINGS = env('BENCH_SITTINGS', 3);
const WRITES = env('BENCH_RECALL_WRITES', 2000);
const ROUNDS = env('BENCH_ROUNDS', 5);
const GROWTH = (process.env.BENCH_RECALL_GROWTH ?? '100,10000,100000').split(',').map(Number);
const SERVER = { shared_buffers: '1GB', effective_cache_size: '4GB', work_mem: '16MB', max_wal_size: '4GB' };
const CITIES = ['Paris', 'Berlin', 'Lisbon', 'Oslo', 'Vienna', 'Prague', 'Dublin', 'Madrid', 'Rome', 'Warsaw'];
const TOPICS = ['invoice', 'printer', 'deadline', 'password', 'refund', 'shipment', 'meeting', 'laptop', 'budget', 'contract'];

const out: Record<string, unknown> = {
  bench: 'recall',
  library: LIBRARY,
  server: { postgres: benchServer(), ...SERVER },
  corpus: { users: USERS, sessions_per_user: SESSIONS, turns_per_session: TURNS, memories_per_user: MEMORIES },
};
const cluster = await startCluster(1, undefined, SERVER);
const server = cluster.servers[0] as (typeof cluster.servers)[0];
const raw = new pg.Pool({ connectionString: server.url(), max: 2 });
try {
  const config = await loadConfig({
    cwd: mkdtempSync(join(tmpdir(), 'agentmem-bench-')),
    env: {},
    overrides: { providers: [{ name: 'bench', url: server.url(), pool: { max: 4 } }], recall: { embed: { batchSize: 256 } } },
  });
  const runtime = Runtime.fromConfig(config);
  const root = await runtime.memory({ migrate: true });
  await root.settings.list();
  const random = seeded(42);
  const pick = <T>(list: T[]) => list[Math.floor(random() * list.length)] as T;

  // 1. The corpus, through the library (positions, counts, hashes as a user's writes make them).
  const loadStarted = performance.now();
  const latest = new Map<string, string>();
  for (let u = 0; u < USERS; u++) {
    const user = `user-${u}`;
    const m = root.forTenant('bench');
    for (let s = 0; s < SESSIONS; s++) {
      const session = await m.sessions.create({ userId: user, agentId: `agent-${s % 3}` });
      await m.sessions.addMessages(
        session.id,
        Array.from({ length: TURNS }, (_, t) => ({
          role: t % 2 ? ('assistant' as const) : ('user' as const),
          content: `${t % 2 ? 'About your' : 'My'} ${pick(TOPICS)} ${pick(TOPICS)} question number ${t} in session ${s}`,
        })),
      );
    }
    const first = pick(CITIES);
    const chain = await m.memories.remember({ type: 'context', content: `The user lives in ${first}`, userId: user });
    const then = CITIES.filter((c) => c !== first)[u % (CITIES.length - 1)] as string;
    await m.memories.remember({ type: 'context', content: `The user moved to ${then}`, userId: user, supersedes: chain });
    latest.set(user, then);
    for (let i = 0; i < MEMORIES - 2; i++) {
      const distractor = i % 10 === 0 ? `${pick(CITIES)} is a lovely city to visit` : `Decided to handle the ${pick(TOPICS)} on day ${i}`;
      await m.memories.remember({ type: i % 10 === 0 ? 'context' : 'decision', content: distractor, userId: user });
    }
  }
  out.load_seconds = Math.round((performance.now() - loadStarted) / 100) / 10;

  // 2. The worker's drain rate with the local embedder.
  const worker = runtime.embeddingWorker(new LocalHashEmbedder(config.embedder.dimensions));
  const waiting = (await worker.status()).waiting;
  const drainStarted = performance.now();
  const embedded = await worker.drain();
  const drainSeconds = (performance.now() - drainStarted) / 1000;
  out.worker_drain = {
    waiting,
    embedded,
    seconds: Math.round(drainSeconds * 10) / 10,
    rows_per_second: Math.round(embedded / drainSeconds),
    target: 5000,
  };

  // 3. Search latency in sittings, and exact search of the same filter as the baseline.
  const m = root.forTenant('bench');
  const users = Array.from({ length: QUERIES }, () => `user-${Math.floor(random() * USERS)}`);
  const [query] = await new LocalHashEmbedder(config.embedder.dimensions).embed(['where does the user live now']);
  const memoryP95: number[] = [];
  const messageP95: number[] = [];
  const exactP95: number[] = [];
  for (let sitting = 0; sitting < SITTINGS; sitting++) {
    memoryP95.push(
      summarize(
        await timeEach(QUERIES, (i) => m.memories.search('where does the user live now', { scope: { userId: users[i] as string } })),
      ).p95,
    );
    messageP95.push(
      summarize(
        await timeEach(QUERIES, (i) => m.sessions.searchMessages(`${pick(TOPICS)} question`, { scope: { userId: users[i] as string } })),
      ).p95,
    );
    exactP95.push(
      summarize(
        await timeEach(QUERIES, (i) =>
          raw.query(
            `SELECT id FROM agentmem.memories WHERE tenant_id = 'bench' AND user_id = $1 AND deleted_at IS NULL AND valid_to IS NULL
               AND embedding IS NOT NULL ORDER BY embedding::vector <=> $2::vector LIMIT 10`,
            [users[i], `[${(query as number[]).join(',')}]`],
          ),
        ),
      ).p95,
    );
  }
  out.memory_search_p95_ms = { ...spread(memoryP95), target_at_1M: 15 };
  out.message_search_p95_ms = { ...spread(messageP95), target_at_2M: 25 };
  out.exact_sql_baseline_p95_ms = spread(exactP95);

  // 4. Latest-value accuracy on the supersession chains, and an ADD-only store's answer to the same question.
  let current = 0;
  let addOnly = 0;
  for (const [user, city] of latest) {
    const top = (await m.memories.search('where does the user live now', { scope: { userId: user }, types: ['context'], k: 1 })).hits[0];
    if (String(top?.memory.content).includes(city)) current++;
    const all = (
      await m.memories.search('where does the user live now', {
        scope: { userId: user },
        types: ['context'],
        k: 1,
        includeSuperseded: true,
      })
    ).hits[0];
    if (String(all?.memory.content).includes(city)) addOnly++;
  }
  out.latest_value_accuracy = { agentmem: current / latest.size, add_only_baseline: addOnly / latest.size, target: 1 };

  // 5. Recall@10 of the vector leg against exact cosine of the same filter.
  let overlap = 0;
  for (const user of users.slice(0, 50)) {
    const got = (
      await m.memories.search('the user lives in a city', { scope: { userId: user }, mode: 'vector', k: 10, includeSuperseded: true })
    ).hits.map((h) => h.memory.id);
    const [vector] = await new LocalHashEmbedder(config.embedder.dimensions).embed(['the user lives in a city']);
    const { rows } = await raw.query<{ id: string }>(
      `SELECT id::text FROM agentmem.memories WHERE tenant_id = 'bench' AND user_id = $1 AND deleted_at IS NULL AND memory_type <> ALL($3::text[])
         AND embedding IS NOT NULL ORDER BY embedding::vector <=> $2::vector, id LIMIT 10`,
      [
        user,
        `[${(vector as number[]).join(',')}]`,
        ['message_user', 'message_assistant', 'message_system', 'message_tool', 'message_developer', 'session_metadata'],
      ],
    );
    overlap += rows.filter((r) => got.includes(r.id)).length / Math.max(rows.length, 1);
  }
  out.vector_recall_at_10 = { value: Math.round((overlap / Math.min(50, users.length)) * 1000) / 1000, target: 0.95 };

  // 6. Writes with the worker running (worker mode), against a raw INSERT of the same row.
  const writer = await createMemory({ config, tenant: 'bench-writes' });
  const session = await writer.sessions.create({ userId: 'w' });
  const rawSession = await writer.forTenant('raw').sessions.create({ userId: 'w' });
  let position = 0n;
  const addMessage = await alternate(
    WRITES / ROUNDS,
    () =>
      raw.query(
        `INSERT INTO agentmem.memories (tenant_id, id, session_id, user_id, memory_type, position, content, metadata, created_at, version, origin)
         VALUES ('raw', $1, $2, 'w', 'message_user', $3, $4, '{}', $5, $6, 'bench')`,
        [
          randomUUID(),
          rawSession.id,
          (position++).toString(),
          JSON.stringify('Where is my parcel? It is late.'),
          new Date(),
          clock.now().toString(),
        ],
      ),
    () => writer.sessions.addMessage(session.id, { role: 'user', content: 'Where is my parcel? It is late.' }),
    ROUNDS,
  );
  out.add_message_with_worker = {
    ...addMessage,
    ratio: Math.round((addMessage.agentmem.per_second / addMessage.baseline.per_second) * 1000) / 1000,
    target_ratio: 0.85,
  };
  await writer.close();

  // 7. One user's history growing: p95 at each size. Last: its 100k rows (and the vacuum that follows
  //    them) would otherwise weigh on the writes above.
  const growth: Record<string, number> = {};
  const grower = root.forTenant('bench-growth');
  let have = 0;
  for (const size of GROWTH) {
    for (; have < size; have++)
      await grower.memories.remember({
        type: 'decision',
        content: `Decided to handle the ${pick(TOPICS)} on day ${have}`,
        userId: 'heavy',
      });
    await worker.drain();
    growth[String(size)] = summarize(
      await timeEach(QUERIES, () => grower.memories.search('handle the refund', { scope: { userId: 'heavy' } })),
    ).p95;
  }
  const values = Object.values(growth);
  out.growth_p95_ms = { ...growth, max_over_min: Math.round((Math.max(...values) / Math.min(...values)) * 100) / 100, target: 2 };
  await runtime.close();
} finally {
  await raw.end();
  await cluster.stop();
}
console.log(JSON.stringify(out, null, 2));
