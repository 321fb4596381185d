/**
 * agentmem against the peers a user would pick instead, on one PostgreSQL 15
 * + pgvector server, each side on its own database: the same seeded corpus,
 * the same embedder, the same HNSW parameters, warm-up first, the order of the
 * sides alternated every round, BENCH_ROUNDS (5) rounds at concurrency 1, 4
 * and 16. Prints JSON: per operation and concurrency, each side's throughput
 * (min–median–max over rounds) and latency percentiles (the median round's),
 * agentmem's throughput ratio against the peer in every round (target ≥ 1 in
 * the worst); recall@10 on the planted facts; each database's size; the time
 * to a first write on a fresh database; then the correctness checks
 * (correctness.ts). Run by `npm run bench -- peers`, which installs this
 * folder's own dependencies.
 */
import { startCluster } from '../../test/harness/postgres.js';
import { corpus } from './corpus.js';
import { correctness } from './correctness.js';
import {
  agentmemCheckpoints,
  agentmemItems,
  agentmemMemories,
  agentmemMessages,
  langchainEmbeddings,
  libraries,
  openAgentmem,
  openLangChainHistory,
  openLangGraphSaver,
  openLangGraphStore,
  openMem0,
} from './systems.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const OPS = Number(process.env.BENCH_PEERS_OPS ?? 200);
const CONCURRENCY = (process.env.BENCH_PEERS_CONCURRENCY ?? '1,4,16').split(',').map(Number);
const K = 10;

const round3 = (v: number) => Math.round(v * 1000) / 1000;
function spread(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  return { min: round3(sorted[0] ?? 0), median: round3(sorted[Math.floor(sorted.length / 2)] ?? 0), max: round3(sorted.at(-1) ?? 0) };
}
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;

/** n calls of `op` by c workers; the wall time and each call's latency. */
async function drive(n: number, c: number, op: (i: number) => Promise<unknown>) {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: c }, async () => {
      for (let i = next++; i < n; i = next++) {
        const t = performance.now();
        await op(i);
        latencies.push(performance.now() - t);
      }
    }),
  );
  return { wallMs: performance.now() - started, latencies: latencies.sort((a, b) => a - b) };
}

type Side = { name: string; op: (i: number, round: number, c: number) => Promise<unknown> };

/** Each side's rounds at each concurrency, the order rotated every round; agentmem's ratio to the peer per round. */
async function compare(label: string, sides: [Side, Side]) {
  const out: Record<string, unknown> = {};
  for (const c of CONCURRENCY) {
    for (const side of sides) await drive(Math.min(OPS, 20), c, (i) => side.op(1_000_000 + i, -1, c)); // warm-up
    const runs: Record<string, { perSecond: number; p50: number; p95: number; p99: number }[]> = {};
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? sides : ([...sides].reverse() as [Side, Side]);
      for (const side of order) {
        const { wallMs, latencies } = await drive(OPS, c, (i) => side.op(i, round, c));
        runs[side.name] = runs[side.name] ?? [];
        runs[side.name]?.push({
          perSecond: (OPS / wallMs) * 1000,
          p50: percentile(latencies, 50),
          p95: percentile(latencies, 95),
          p99: percentile(latencies, 99),
        });
      }
    }
    const figures = Object.fromEntries(
      Object.entries(runs).map(([name, rs]) => {
        const median = [...rs].sort((a, b) => a.perSecond - b.perSecond)[Math.floor(rs.length / 2)] as (typeof rs)[0];
        return [
          name,
          {
            per_second: spread(rs.map((r) => r.perSecond)),
            p50_ms: round3(median.p50),
            p95_ms: round3(median.p95),
            p99_ms: round3(median.p99),
          },
        ];
      }),
    );
    const [ours, theirs] = [runs[sides[0].name] ?? [], runs[sides[1].name] ?? []];
    out[`c${c}`] = {
      ...figures,
      throughput_ratio: { ...spread(ours.map((r, i) => r.perSecond / (theirs[i]?.perSecond ?? 1))), target: 1 },
    };
    process.stderr.write(`${label} c=${c}: ${JSON.stringify(out[`c${c}`])}\n`);
  }
  return out;
}

const cluster = await startCluster(1, ['peers'], { shared_buffers: '128MB' });
const server = cluster.servers[0] as (typeof cluster.servers)[0];
const result: Record<string, unknown> = {
  bench: 'peers',
  server: `PostgreSQL 15 + pgvector on loopback; each side on its own database`,
  rounds: ROUNDS,
  operationsPerRound: OPS,
  concurrency: CONCURRENCY,
  embedder: 'agentmem-local-hash-v1, 384 dimensions, the same function on every side',
  hnsw: 'm 16, ef_construction 64, ef_search 40 on every side',
};
try {
  const { lib, ops, adapters } = await libraries();
  const { embeddings } = langchainEmbeddings(lib);
  const url = (database: string) => {
    server.psql(`CREATE DATABASE ${database}`);
    server.psql('CREATE EXTENSION IF NOT EXISTS vector', database);
    return server.url({ database });
  };
  const firstWrite: Record<string, number> = {};
  const timedOpen = async <T>(name: string, open: () => Promise<T>, write: (opened: T) => Promise<unknown>) => {
    const started = performance.now();
    const opened = await open();
    await write(opened);
    firstWrite[name] = Math.round(performance.now() - started);
    return opened;
  };

  // Fresh databases: the time to a first acknowledged write includes each side's schema set-up.
  const amMemory = await timedOpen(
    'agentmem (createMemory + remember)',
    () => openAgentmem(lib, url('am_memories')),
    (m) => agentmemMemories(m).add('warm', 'first'),
  );
  const mem0 = await timedOpen(
    'mem0 (Memory + add)',
    () => openMem0(url('mem0'), embeddings),
    (m) => m.add('warm', 'first'),
  );
  const amItemsMemory = await openAgentmem(lib, url('am_items'));
  const amItems = await timedOpen(
    'agentmem store (AgentmemStore.put)',
    async () => agentmemItems(adapters, amItemsMemory),
    (s) => s.put('warm', 'first', 'first'),
  );
  const lgStore = await timedOpen(
    'langgraph store (setup + put)',
    () => openLangGraphStore(url('lg_store'), embeddings),
    (s) => s.put('warm', 'first', 'first'),
  );
  const amMessagesMemory = await openAgentmem(lib, url('am_messages'), 'off');
  const amMessages = agentmemMessages(amMessagesMemory);
  const lcHistory = openLangChainHistory(url('lc_history'));
  const amCheckpointsMemory = await openAgentmem(lib, url('am_checkpoints'), 'off');
  const amCheckpoints = agentmemCheckpoints(adapters, amCheckpointsMemory);
  const lgSaver = await openLangGraphSaver(url('lg_saver'));
  result.firstWriteMs = firstWrite;

  // The same seeded corpus on every side, in the same order.
  const data = corpus();
  for (const [name, add] of [
    ['agentmem', (u: string, t: string) => agentmemMemories(amMemory).add(u, t)],
    ['mem0', (u: string, t: string) => mem0.add(u, t)],
    ['agentmem store', (u: string, t: string) => amItems.put(u, t.slice(0, 60), t)],
    ['langgraph store', (u: string, t: string) => lgStore.put(u, t.slice(0, 60), t)],
  ] as const) {
    const started = performance.now();
    await drive(data.planted.length, 8, (i) => add(data.planted[i]?.user as string, data.planted[i]?.text as string));
    await drive(data.distractors.length, 8, (i) => add(data.distractors[i]?.user as string, data.distractors[i]?.text as string));
    process.stderr.write(`seeded ${name} in ${Math.round(performance.now() - started)} ms\n`);
  }

  // recall@10 on the planted facts (and any hit of another user's, which would be a leak).
  const recall: Record<string, { recall_at_10: number; other_users_hits: number }> = {};
  for (const system of [agentmemMemories(amMemory), mem0, amItems, lgStore]) {
    let found = 0;
    let leaks = 0;
    for (const fact of data.planted) {
      const hits = await system.search(fact.user, fact.question, K);
      if (hits.some((h) => h.text === fact.text)) found++;
      leaks += hits.filter((h) => h.user !== fact.user).length;
    }
    const key = system === amItems ? 'agentmem store' : system === lgStore ? 'langgraph store' : system.name;
    recall[key] = { recall_at_10: round3(found / data.planted.length), other_users_hits: leaks };
  }
  result.recall = recall;

  const user = (i: number) => data.users[i % data.users.length] as string;
  const question = (i: number) => data.planted[i % data.planted.length] as { user: string; question: string };
  const am = agentmemMemories(amMemory);
  result.operations = {
    add_memory: await compare('add memory', [
      { name: 'agentmem', op: (i, r, c) => am.add(user(i), `${data.filler(i)} r${r} c${c}`) },
      { name: 'mem0', op: (i, r, c) => mem0.add(user(i), `${data.filler(i)} r${r} c${c}`) },
    ]),
    search_memories: await compare('search memories', [
      { name: 'agentmem', op: (i) => am.search(question(i).user, question(i).question, K) },
      { name: 'mem0', op: (i) => mem0.search(question(i).user, question(i).question, K) },
    ]),
    put_item: await compare('put item', [
      { name: 'agentmem', op: (i, r, c) => amItems.put(user(i), `k${i}-r${r}-c${c}`, data.filler(i)) },
      { name: 'langgraph', op: (i, r, c) => lgStore.put(user(i), `k${i}-r${r}-c${c}`, data.filler(i)) },
    ]),
    search_items: await compare('search items', [
      { name: 'agentmem', op: (i) => amItems.search(question(i).user, question(i).question, K) },
      { name: 'langgraph', op: (i) => lgStore.search(question(i).user, question(i).question, K) },
    ]),
    append_message: await compare('append message', [
      { name: 'agentmem', op: (i, r, c) => amMessages.append(`thread-${i % 32}-c${c}`, `${data.filler(i)} r${r}`) },
      { name: 'langchain', op: (i, r, c) => lcHistory.append(`thread-${i % 32}-c${c}`, `${data.filler(i)} r${r}`) },
    ]),
    put_checkpoint: await compare('put checkpoint', [
      { name: 'agentmem', op: (i, r, c) => amCheckpoints.put(`thread-${i % 32}-r${r}-c${c}`, i) },
      { name: 'langgraph', op: (i, r, c) => lgSaver.put(`thread-${i % 32}-r${r}-c${c}`, i) },
    ]),
  };

  // What each database holds afterwards: the same writes on each pair of sides.
  const size = (database: string) =>
    Number(
      server.psql(
        "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')",
        database,
      ),
    );
  result.footprintBytes = {
    memories: { agentmem: size('am_memories'), mem0: size('mem0') },
    items: { agentmem: size('am_items'), langgraph: size('lg_store') },
    messages: { agentmem: size('am_messages'), langchain: size('lc_history') },
    checkpoints: { agentmem: size('am_checkpoints'), langgraph: size('lg_saver') },
  };

  for (const closing of [mem0, lgStore, lcHistory, lgSaver]) await closing.close();
  for (const m of [amMemory, amItemsMemory, amMessagesMemory, amCheckpointsMemory]) await m.close();
  result.correctness = await correctness({ server, lib, ops, embeddings, url });
} finally {
  await cluster.stop();
}
console.log(JSON.stringify(result, null, 2));
// A peer's client left without an 'error' listener (mem0 keeps its own) would crash on the stopped server's goodbye.
process.exit(0);
