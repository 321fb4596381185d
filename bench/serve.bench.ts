/**
 * The HTTP API against the library it wraps, in the same run: remembering a
 * memory and a hybrid search, at 16 concurrent callers, through HTTP
 * (autocannon, 16 connections) and through the library called directly (16
 * concurrent loops) — the same call the route makes (`rememberAndRead`: the
 * route answers the memory, not only its id). Beside them, in each sitting, a
 * bare `node:http` server making that same call: what HTTP itself costs on
 * this machine, with no framework, key check or rate limit, so the bench says
 * how much of the gap is agentmem's server and how much is HTTP.
 *
 * The three sides rotate their order between sittings. They get the same CPU:
 * this process (servers and library) and PostgreSQL share one core, and
 * autocannon runs in its own process on another, as a real client would (in
 * the server's process, or sharing its cores, the load generator's own work —
 * about as much as the server's — would count against the server). Then MCP
 * tool-call latency over Streamable HTTP. Each sitting's ratios are reported,
 * and a target holds when the worst sitting holds it. Prints JSON.
 *   BENCH_SECONDS (5) per side in a sitting, BENCH_SITTINGS (3), BENCH_ATOMS (2000) atoms to search.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { createMemory, loadConfig } from '../src/index.js';
import { buildServer } from '../src/server/app.js';
import { ApiKeys } from '../src/server/keys.js';
import { startCluster } from '../test/harness/postgres.js';
import { corpus, queries } from './corpus.js';
import { LIBRARY, rotation, spread, summarize } from './stats.js';

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const SECONDS = env('BENCH_SECONDS', 5);
const SITTINGS = env('BENCH_SITTINGS', 3);
const ATOMS = env('BENCH_ATOMS', 2000);
const CONNECTIONS = 16;
const SERVER = { shared_buffers: '1GB', effective_cache_size: '4GB' };
const TARGET = 0.7;
/** The core of the system under test, and autocannon's (on one core, both share it). */
const SUT_CORE = 0;
const CLIENT_CORE = cpus().length > 1 ? 1 : 0;

/** Every thread of these processes onto one core (their children, forked later, inherit it). */
function pin(pids: number[], core: number): void {
  for (const pid of pids) {
    const done = spawnSync('taskset', ['-a', '-p', '-c', String(core), String(pid)], { encoding: 'utf8' });
    if (done.status !== 0) throw new Error(`taskset could not pin ${pid}: ${done.stderr}`);
  }
}

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

/**
 * autocannon against `path` from a child process, each request's body from `body` (a JS expression of
 * `i`, the request's number): what it answered, as requests per second and latency.
 */
async function http(url: string, key: string, path: string, body: string) {
  const script = `
    const autocannon = require('autocannon');
    let i = 0;
    autocannon({
      url: ${JSON.stringify(`${url}${path}`)}, connections: ${CONNECTIONS}, duration: ${SECONDS}, method: 'POST',
      headers: { authorization: ${JSON.stringify(`Bearer ${key}`)}, 'content-type': 'application/json' },
      requests: [{ setupRequest: (request) => ({ ...request, body: JSON.stringify(${body}) }) }],
    }, (error, result) => {
      if (error) throw error;
      process.stdout.write(JSON.stringify({ total: result.requests.total, non2xx: result.non2xx, latency: result.latency }));
    });`;
  const { stdout } = await promisify(execFile)('taskset', ['-c', String(CLIENT_CORE), process.execPath, '-e', script], {
    cwd: import.meta.dirname,
  });
  const result = JSON.parse(stdout) as { total: number; non2xx: number; latency: { p50: number; p99: number; max: number } };
  if (result.non2xx) throw new Error(`${result.non2xx} answers were not 2xx`);
  return {
    per_second: Math.round(result.total / SECONDS),
    ms: { p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max },
  };
}

/** A bare node:http server: each POST's JSON body to `call`, its answer as JSON (201). */
async function bareHttp(call: (body: unknown) => Promise<unknown>): Promise<{ server: Server; url: string }> {
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      call(JSON.parse(Buffer.concat(chunks).toString('utf8'))).then(
        (answer) => {
          const json = JSON.stringify(answer);
          response.writeHead(201, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
          response.end(json);
        },
        (error: Error) => {
          response.writeHead(500).end(error.message);
        },
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return { server, url: `http://127.0.0.1:${address.port}` };
}

const out: Record<string, unknown> = {
  bench: 'serve',
  library: LIBRARY,
  connections: CONNECTIONS,
  seconds_per_side: SECONDS,
  sittings: SITTINGS,
  cpu: `agentmem and PostgreSQL on core ${SUT_CORE}, autocannon on core ${CLIENT_CORE} (of ${cpus().length})`,
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
  pin([process.pid, ...cluster.servers[0]!.processIds()], SUT_CORE);
  const QUESTIONS = JSON.stringify(questions);

  const cases = {
    remember: {
      library: (i: number) => memory.memories.rememberAndRead({ type: 'log', content: { n: i, text: 'the conveyor tripped again' } }),
      path: '/v1/memories',
      body: "{ type: 'log', content: { n: i++, text: 'the conveyor tripped again' } }",
      bare: (body: { type: 'log'; content: Record<string, unknown> }) => memory.memories.rememberAndRead(body),
    },
    hybrid_search: {
      library: (i: number) => memory.atoms.search(questions[i % questions.length] as string, { mode: 'hybrid', limit: 10 }),
      path: '/v1/atoms/search',
      body: `{ query: ${QUESTIONS}[i++ % ${questions.length}], mode: 'hybrid', limit: 10 }`,
      bare: (body: { query: string }) => memory.atoms.search(body.query, { mode: 'hybrid', limit: 10 }),
    },
  };
  // The bare server answers every path with the case being measured.
  let bareCall: (body: never) => Promise<unknown> = cases.remember.bare;
  const bare = await bareHttp((body) => bareCall(body as never));
  for (const [name, c] of Object.entries(cases)) {
    bareCall = c.bare as (body: never) => Promise<unknown>;
    const sides = {
      library: () => direct(c.library),
      bare_http: () => http(bare.url, key, c.path, c.body),
      agentmem_http: () => http(url, key, c.path, c.body),
    };
    const runs: Record<keyof typeof sides, { per_second: number }[]> = { library: [], bare_http: [], agentmem_http: [] };
    // Which side goes first rotates between sittings: the table grows as they run.
    for (let sitting = 0; sitting < SITTINGS; sitting++) {
      for (const side of rotation(Object.keys(sides) as (keyof typeof sides)[], sitting)) runs[side].push(await sides[side]());
    }
    const ratio = (a: keyof typeof sides, b: keyof typeof sides) =>
      spread(runs[a].map((run, i) => run.per_second / (runs[b][i]?.per_second ?? Number.NaN)));
    out[name] = {
      baseline_library: runs.library.at(-1),
      bare_http: runs.bare_http.at(-1),
      http: runs.agentmem_http.at(-1),
      throughput_ratio: { ...ratio('agentmem_http', 'library'), target: TARGET },
      bare_http_vs_library: ratio('bare_http', 'library'),
      http_vs_bare_http: ratio('agentmem_http', 'bare_http'),
    };
  }
  bare.server.close();

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
