/**
 * The HTTP API against the library it wraps, in the same run: remembering a
 * memory and a hybrid search, at 16 concurrent callers, through HTTP
 * (autocannon, 16 connections) and through the library called directly (16
 * concurrent loops), in alternating rounds; and MCP tool-call latency over
 * Streamable HTTP. Prints JSON.
 *   BENCH_SECONDS (5) per round, BENCH_ROUNDS (2) rounds of each side, BENCH_ATOMS (2000) atoms to search.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import autocannon from 'autocannon';
import { createMemory, loadConfig } from '../src/index.js';
import { buildServer } from '../src/server/app.js';
import { ApiKeys } from '../src/server/keys.js';
import { startCluster } from '../test/harness/postgres.js';
import { corpus, queries } from './corpus.js';
import { LIBRARY, summarize } from './stats.js';

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const SECONDS = env('BENCH_SECONDS', 5);
const ROUNDS = env('BENCH_ROUNDS', 2);
const ATOMS = env('BENCH_ATOMS', 2000);
const CONNECTIONS = 16;
const SERVER = { shared_buffers: '1GB', effective_cache_size: '4GB' };

/** `CONNECTIONS` loops calling fn for `SECONDS`: calls per second and per-call latency. */
async function direct(fn: (i: number) => Promise<unknown>) {
  const ms: number[] = [];
  const until = performance.now() + SECONDS * 1000;
  let i = 0;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (performance.now() < until) {
        const started = performance.now();
        await fn(i++);
        ms.push(performance.now() - started);
      }
    }),
  );
  return { per_second: Math.round(ms.length / SECONDS), ms: summarize(ms) };
}

async function http(url: string, key: string, path: string, bodies: (i: number) => string) {
  let i = 0;
  const result = await autocannon({
    url: `${url}${path}`,
    connections: CONNECTIONS,
    duration: SECONDS,
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    requests: [{ setupRequest: (request) => ({ ...request, body: bodies(i++) }) }],
  });
  if (result.non2xx) throw new Error(`${result.non2xx} answers were not 2xx`);
  return {
    per_second: Math.round(result.requests.total / SECONDS),
    ms: { p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max },
  };
}

const out: Record<string, unknown> = {
  bench: 'serve',
  library: LIBRARY,
  connections: CONNECTIONS,
  seconds_per_round: SECONDS,
  rounds: ROUNDS,
  server: SERVER,
};
const cluster = await startCluster(1, undefined, SERVER);
try {
  const config = await loadConfig({
    cwd: mkdtempSync(join(tmpdir(), 'agentmem-bench-serve-')),
    env: {},
    overrides: {
      providers: [{ name: 'bench', url: cluster.servers[0]!.url(), pool: { max: 16 } }],
      server: { rateLimit: { max: 10_000_000 } },
    },
  });
  const root = await createMemory({ workers: false, config, migrate: true });
  const memory = root.forTenant('bench');
  const keys = new ApiKeys(root);
  const { key } = await keys.create('bench', 'write');
  const app = await buildServer({ memory: root, keys, config: config.server, version: 'bench' });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  await memory.atoms.upsert(corpus(ATOMS, 42));
  const questions = queries(50);

  const cases = {
    remember: {
      library: (i: number) => memory.memories.remember({ type: 'log', content: { n: i, text: 'the conveyor tripped again' } }),
      http: () =>
        http(url, key, '/v1/memories', (i) => JSON.stringify({ type: 'log', content: { n: i, text: 'the conveyor tripped again' } })),
    },
    hybrid_search: {
      library: (i: number) => memory.atoms.search(questions[i % questions.length] as string, { mode: 'hybrid', limit: 10 }),
      http: () =>
        http(url, key, '/v1/atoms/search', (i) => JSON.stringify({ query: questions[i % questions.length], mode: 'hybrid', limit: 10 })),
    },
  };
  for (const [name, c] of Object.entries(cases)) {
    const library = [];
    const served = [];
    // Which side goes first alternates between rounds: the table grows as they run.
    for (let round = 0; round < ROUNDS; round++) {
      if (round % 2) served.push(await c.http());
      library.push(await direct(c.library));
      if (!(round % 2)) served.push(await c.http());
    }
    const best = <T extends { per_second: number }>(list: T[]) => list.reduce((a, b) => (b.per_second > a.per_second ? b : a));
    out[name] = {
      baseline_library: best(library),
      http: best(served),
      throughput_ratio: Number((best(served).per_second / best(library).per_second).toFixed(3)),
      target_ratio: 0.7,
    };
  }

  // MCP: one tool call at a time over Streamable HTTP.
  const client = new Client({ name: 'bench', version: '1' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${key}` } } }),
  );
  const ms: number[] = [];
  for (let i = 0; i < 300; i++) {
    const started = performance.now();
    await client.callTool({ name: 'search_memories', arguments: { text: 'conveyor', limit: 5 } });
    if (i >= 20) ms.push(performance.now() - started);
  }
  out.mcp_tool_call_ms = summarize(ms);
  await client.close();
  await app.close();
  await root.close();
  console.log(JSON.stringify(out, null, 2));
} finally {
  await cluster.stop();
}
