/**
 * The HTTP API over a real PostgreSQL server, spoken to over loopback as a
 * client would: keys and tenants, problem+json errors, hostile input, limits,
 * idempotency, and every answer checked against the OpenAPI document the
 * server publishes. Then `agentmem keys` and `agentmem serve` as processes.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentMemory, createMemory, loadConfig } from '../../src/index.js';
import { buildServer, type ServerConfig } from '../../src/server/app.js';
import { ApiKeys } from '../../src/server/keys.js';
import { runCli, startCli } from '../harness/cli.js';
import { type OpenApiDocument, openApiValidator } from '../harness/openapi.js';
import { TEST_PASSWORD } from '../harness/postgres.js';
import { useCluster } from '../harness/router-cluster.js';

const cluster = useCluster(1);
let memory: AgentMemory;
let keys: ApiKeys;
const servers: FastifyInstance[] = [];
beforeAll(async () => {
  const config = await loadConfig({
    cwd: mkdtempSync(join(tmpdir(), 'agentmem-server-')),
    env: {},
    overrides: { providers: [{ name: 'main', url: cluster.servers[0]!.url() }] },
  });
  memory = await createMemory({ workers: false, config, migrate: true });
  await memory.settings.list(); // runs the migrations now
  keys = new ApiKeys(memory);
});
afterAll(async () => {
  for (const s of servers) await s.close();
  await memory?.close();
});

async function serve(overrides: Partial<ServerConfig> = {}): Promise<{ url: string; app: FastifyInstance }> {
  const app = await buildServer({
    memory,
    keys,
    config: { ...memory.config.server, ...overrides },
    version: 'test',
    health: () => ({ state: 'healthy' }),
  });
  servers.push(app);
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { url, app };
}

interface Answer {
  status: number;
  type: string;
  headers: Headers;
  body: unknown;
  text: string;
}

/** Every answer this file receives, with the route it answered, for the OpenAPI check at the end. */
const answers: { method: string; route: string; answer: Answer }[] = [];

async function call(
  url: string,
  method: string,
  path: string,
  options: { key?: string; body?: unknown; raw?: string; headers?: Record<string, string>; route?: string } = {},
): Promise<Answer> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: {
      ...(options.key ? { authorization: `Bearer ${options.key}` } : {}),
      ...(options.body !== undefined || options.raw !== undefined ? { 'content-type': 'application/json' } : {}),
      ...options.headers,
    },
    ...(options.raw !== undefined ? { body: options.raw } : options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  const text = await response.text();
  const type = response.headers.get('content-type') ?? '';
  const answer = {
    status: response.status,
    type,
    headers: response.headers,
    text,
    body: type.includes('json') && text ? JSON.parse(text) : text,
  };
  answers.push({ method: method.toLowerCase(), route: options.route ?? path.split('?')[0]!, answer });
  return answer;
}

const tenant = () => `srv-${randomUUID().slice(0, 8)}`;

describe('agentmem HTTP API', () => {
  it('serves sessions, messages, memories, atoms and settings as the key’s tenant; answers match the OpenAPI document', async () => {
    const { url } = await serve();
    const t = tenant();
    const { key } = await keys.create(t, 'write');
    const created = await call(url, 'POST', '/v1/sessions', { key, body: { agentId: 'bot', title: 'first' } });
    expect(created.status).toBe(201);
    const session = created.body as { id: string };
    const route = '/v1/sessions/{id}';
    expect((await call(url, 'GET', `/v1/sessions/${session.id}`, { key, route })).body).toMatchObject({ id: session.id, title: 'first' });
    const one = await call(url, 'POST', `/v1/sessions/${session.id}/messages`, {
      key,
      route: `${route}/messages`,
      body: { role: 'user', content: "Robert'); DROP TABLE agentmem.memories;--" },
    });
    expect(one.status).toBe(201);
    const batch = await call(url, 'POST', `/v1/sessions/${session.id}/messages`, {
      key,
      route: `${route}/messages`,
      body: {
        messages: [
          { role: 'assistant', content: '', toolCalls: [{ id: 'c1', name: 'lookup', arguments: { q: "' OR 1=1 --" } }] },
          { role: 'tool', toolCallId: 'c1', content: '42' },
        ],
      },
    });
    expect(batch.body).toEqual({ inserted: 2, existing: 0 });
    const transcript = (await call(url, 'GET', `/v1/sessions/${session.id}/messages`, { key, route: `${route}/messages` })).body as {
      items: { content: unknown; toolCalls?: unknown }[];
    };
    // SQL-looking input is data: stored and returned verbatim.
    expect(transcript.items[0]?.content).toBe("Robert'); DROP TABLE agentmem.memories;--");
    expect(transcript.items[1]?.toolCalls).toEqual([{ id: 'c1', name: 'lookup', arguments: { q: "' OR 1=1 --" } }]);
    expect(
      (await call(url, 'GET', `/v1/sessions/${session.id}/export?format=openai`, { key, route: `${route}/export` })).body,
    ).toHaveLength(3);
    expect(((await call(url, 'GET', '/v1/sessions?agentId=bot', { key })).body as { items: unknown[] }).items).toHaveLength(1);

    const remembered = await call(url, 'POST', '/v1/memories', {
      key,
      body: { type: 'decision', content: { refund: true, note: 'ship by friday' } },
    });
    expect(remembered.status).toBe(201);
    const memoryId = (remembered.body as { id: string }).id;
    expect((await call(url, 'GET', `/v1/memories/${memoryId}`, { key, route: '/v1/memories/{id}' })).body).toMatchObject({
      type: 'decision',
    });
    const found = (await call(url, 'POST', '/v1/memories/search', { key, body: { text: 'friday' } })).body as { items: { id: string }[] };
    expect(found.items.map((m) => m.id)).toEqual([memoryId]);
    // Recall by meaning (no embeddings yet: hybrid answers from its text leg), messages with their turns, and a context block.
    const recalled = (await call(url, 'POST', '/v1/recall/memories', { key, body: { query: 'ship by friday', scope: {}, k: 3 } })).body as {
      mode: string;
      hits: { memory: { id: string }; textRank?: number }[];
    };
    expect(recalled.mode).toBe('hybrid');
    expect(recalled.hits.map((h) => [h.memory.id, h.textRank])).toEqual([[memoryId, 1]]);
    const said = (
      await call(url, 'POST', '/v1/recall/messages', {
        key,
        body: { query: 'DROP TABLE', mode: 'text', around: 1, scope: { sessionId: session.id } },
      })
    ).body as { hits: { message: { seq: number }; context: unknown[] }[] };
    expect(said.hits.map((h) => [h.message.seq, h.context.length])).toEqual([[0, 2]]);
    const context = (
      await call(url, 'POST', '/v1/context', { key, body: { sessionId: session.id, query: 'ship by friday', budgetTokens: 200 } })
    ).body as { text: string; tokens: number };
    expect(context.text).toContain(`[memory ${memoryId}] (decision)`);
    expect(context.text).toContain('Conversation so far:');
    expect(context.tokens).toBeLessThanOrEqual(200);
    expect((await call(url, 'POST', '/v1/recall/memories', { key, body: { query: '   ' } })).status).toBe(400);
    // Working memory: merged by the server; memory formation without a model is 501, saying how to turn it on.
    const scope = { sessionId: session.id };
    expect((await call(url, 'POST', '/v1/working-memory', { key, body: { scope, patch: { plan: 'ship friday' } } })).status).toBe(200);
    await call(url, 'POST', '/v1/working-memory', { key, body: { scope, patch: { owner: 'ana' } } });
    expect((await call(url, 'POST', '/v1/working-memory/get', { key, body: { scope } })).body).toMatchObject({
      content: { plan: 'ship friday', owner: 'ana' },
      scope,
    });
    expect((await call(url, 'POST', '/v1/working-memory', { key, body: { scope: {}, patch: {} } })).status).toBe(400);
    const off = await call(url, 'POST', `/v1/sessions/${session.id}/extract`, { key, route: `${route}/extract` });
    expect(off.status).toBe(501);
    expect(off.body).toMatchObject({ code: 'FORMATION_OFF' });

    const atoms = await call(url, 'POST', '/v1/atoms', {
      key,
      body: {
        atoms: [
          {
            atomId: 'acme:pump:cavitation',
            atomType: 'troubleshooting',
            title: 'Pump cavitation',
            summary: 'Gravel noise at the pump means cavitation',
            content: 'Check the suction strainer and the NPSH margin.',
            sourceDocument: 'manual.pdf',
            sourceUrl: 'https://example.com/manual.pdf',
          },
        ],
      },
    });
    expect(atoms.body).toEqual({ inserted: 1, updated: 0, unchanged: 0 });
    for (const mode of ['text', 'vector', 'hybrid']) {
      const hits = (await call(url, 'POST', '/v1/atoms/search', { key, body: { query: 'pump gravel noise cavitation', mode } })).body as {
        results: { atom: { atomId: string } }[];
      };
      expect(hits.results[0]?.atom.atomId, mode).toBe('acme:pump:cavitation');
    }
    expect((await call(url, 'GET', '/v1/atoms/acme:pump:cavitation', { key, route: '/v1/atoms/{id}' })).status).toBe(200);

    const set = await call(url, 'PUT', '/v1/settings/llm/model', {
      key,
      route: '/v1/settings/{category}/{key}',
      body: { value: 'gpt-x', description: 'default' },
    });
    expect(set.body).toMatchObject({ category: 'llm', key: 'model', value: 'gpt-x' });
    expect(
      ((await call(url, 'GET', '/v1/settings', { key })).body as { items: { category: string }[] }).items.map((s) => s.category),
    ).toEqual(['llm']);
    expect((await call(url, 'DELETE', `/v1/memories/${memoryId}`, { key, route: '/v1/memories/{id}' })).status).toBe(204);
    expect((await call(url, 'DELETE', `/v1/sessions/${session.id}`, { key, route })).status).toBe(204);
    expect((await call(url, 'GET', '/healthz')).body).toEqual({ state: 'healthy' });
    // DNS rebinding: a foreign Host or Origin is refused on every route; the loopback names are served.
    const withHeaders = (headers: Record<string, string>, path = '/healthz') =>
      new Promise<number>((resolve, reject) => {
        const target = new URL(`${url}${path}`);
        const req = httpRequest({ hostname: target.hostname, port: target.port, path: target.pathname, headers }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
    const port = new URL(url).port;
    expect(await withHeaders({ host: 'evil.example' })).toBe(403);
    expect(await withHeaders({ host: `evil.example:${port}`, authorization: `Bearer ${key}` }, '/v1/sessions')).toBe(403);
    expect(await withHeaders({ host: `localhost:${port}` })).toBe(200);
    expect(await withHeaders({ host: `127.0.0.1:${port}`, origin: 'http://evil.example' })).toBe(403);
    expect(await withHeaders({ host: `127.0.0.1:${port}`, origin: 'null' })).toBe(403);
    expect(await withHeaders({ host: `127.0.0.1:${port}`, origin: `http://localhost:${port}` })).toBe(200);
    expect((await call(url, 'GET', '/metrics')).text).toMatch(/agentmem_query_duration_seconds/);

    // Every answer above, success or problem, against the document the server publishes.
    const document = (await call(url, 'GET', '/v1/openapi.json')).body as OpenApiDocument;
    expect(document.openapi).toBe('3.1.0');
    const validator = openApiValidator(document);
    for (const { method, route: path, answer } of answers) {
      if (answer.type.startsWith('text/plain')) continue;
      expect(validator.response(method, path, answer.status, answer.type, answer.body)).toBeUndefined();
    }
  });

  it('no key, a wrong key, a revoked key: 401; a read key cannot write: 403; another tenant’s ids: 404 and nothing changed', async () => {
    const { url } = await serve();
    const [a, b] = [tenant(), tenant()];
    const writer = await keys.create(a, 'write');
    const reader = await keys.create(a, 'read');
    const other = await keys.create(b, 'write');
    const session = (await call(url, 'POST', '/v1/sessions', { key: writer.key, body: { title: 'mine' } })).body as { id: string };
    const noKey = await call(url, 'GET', '/v1/sessions');
    expect(noKey.status).toBe(401);
    expect(noKey.type).toMatch(/application\/problem\+json/);
    expect(noKey.headers.get('www-authenticate')).toBe('Bearer');
    expect(noKey.body).toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
    const tampered = `${writer.key.slice(0, -3)}xyz`;
    expect((await call(url, 'GET', '/v1/sessions', { key: tampered })).status).toBe(401);
    expect((await call(url, 'GET', '/v1/sessions', { key: 'amk_bm9wZQ.0123456789abcdef0123456789abcdef.secret' })).status).toBe(401);
    expect((await call(url, 'GET', '/v1/sessions', { key: 'not a key at all' })).status).toBe(401);
    expect((await call(url, 'POST', '/v1/sessions', { key: reader.key, body: {} })).status).toBe(403);
    expect((await call(url, 'GET', '/v1/sessions', { key: reader.key })).status).toBe(200);
    // Tenant b sees nothing of a's and can change nothing of it.
    const path = `/v1/sessions/${session.id}`;
    expect((await call(url, 'GET', path, { key: other.key, route: '/v1/sessions/{id}' })).status).toBe(404);
    expect((await call(url, 'DELETE', path, { key: other.key, route: '/v1/sessions/{id}' })).status).toBe(404);
    const appended = await call(url, 'POST', `${path}/messages`, {
      key: other.key,
      route: '/v1/sessions/{id}/messages',
      body: { role: 'user', content: 'x' },
    });
    expect(appended.status).toBe(404);
    expect((await call(url, 'GET', path, { key: writer.key, route: '/v1/sessions/{id}' })).body).toMatchObject({
      id: session.id,
      title: 'mine',
    });
    expect(await memory.forTenant(a).sessions.getMessages(session.id)).toEqual([]);
    // Revoked: refused from the next request on.
    await keys.revoke(a, writer.id);
    expect((await call(url, 'GET', '/v1/sessions', { key: writer.key })).status).toBe(401);
    const listed = await keys.list(a);
    expect(listed.find((k) => k.id === writer.id)?.revokedAt).toBeTruthy();
    expect(listed.find((k) => k.id === reader.id)?.lastUsedAt).toBeTruthy();
    // No key, no secret in the metrics.
    const metrics = (await call(url, 'GET', '/metrics')).text;
    for (const k of [writer.key, reader.key, other.key]) expect(metrics).not.toContain(k.split('.')[2]);
    expect(metrics).not.toContain(TEST_PASSWORD);
    // Key records are not settings the API serves.
    expect(((await call(url, 'GET', '/v1/settings', { key: reader.key })).body as { items: unknown[] }).items).toEqual([]);
    expect(
      (await call(url, 'GET', '/v1/settings/agentmem.api-keys/x', { key: reader.key, route: '/v1/settings/{category}/{key}' })).status,
    ).toBe(404);
  });

  it('malformed JSON, wrong types, NUL bytes, a 20 MB body: 400/413 problem+json and nothing written; limits and idempotency', async () => {
    const { url } = await serve({ rateLimit: { max: 40, windowMs: 60_000 } });
    const t = tenant();
    const { key } = await keys.create(t, 'write');
    const count = async () => (await memory.forTenant(t).memories.recall({ limit: 100 })).length;
    const bad = [
      await call(url, 'POST', '/v1/memories', { key, raw: '{"type": "decision", "content": ' }),
      await call(url, 'POST', '/v1/memories', { key, body: { type: 'decision', content: 'x', importance: 'very' } }),
      await call(url, 'POST', '/v1/memories', { key, body: { type: 'no-such-type', content: 'x' } }),
      await call(url, 'POST', '/v1/memories', { key, body: { type: 'decision', content: 'nul \u0000 byte' } }),
      await call(url, 'POST', '/v1/memories', { key, body: ['not', 'an', 'object'] }),
    ];
    for (const answer of bad) {
      expect(answer.status).toBe(400);
      expect(answer.type).toMatch(/application\/problem\+json/);
      expect(answer.body).toMatchObject({ status: 400 });
    }
    const huge = await call(url, 'POST', '/v1/memories', {
      key,
      raw: JSON.stringify({ type: 'log', content: 'x'.repeat(20 * 1024 * 1024) }),
    });
    expect(huge.status).toBe(413);
    expect(huge.body).toMatchObject({ code: 'TOO_LARGE' });
    expect(await count()).toBe(0);

    // A retried POST with the same Idempotency-Key is one memory.
    for (let i = 0; i < 3; i++) {
      const r = await call(url, 'POST', '/v1/memories', {
        key,
        body: { type: 'log', content: 'once' },
        headers: { 'idempotency-key': 'retry-1' },
      });
      expect(r.status).toBe(201);
    }
    expect(await count()).toBe(1);
    // Past the key's rate: 429 with Retry-After.
    let limited: Answer | undefined;
    for (let i = 0; i < 60 && !limited; i++) {
      const r = await call(url, 'GET', '/v1/sessions', { key });
      if (r.status === 429) limited = r;
    }
    expect(limited?.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(limited?.body).toMatchObject({ code: 'RATE_LIMITED', status: 429 });
    // Unknown routes are problems too.
    expect((await call(url, 'GET', '/v1/nothing', { key })).body).toMatchObject({ status: 404, code: 'NOT_FOUND' });
  });

  it('an IP allow list refuses other addresses', async () => {
    const { url } = await serve({ allowIps: ['10.0.0.0/8'] });
    const refused = await call(url, 'GET', '/healthz');
    expect(refused.status).toBe(403);
    const { url: open } = await serve({ allowIps: ['127.0.0.0/8', '::1'] });
    expect((await call(open, 'GET', '/healthz')).status).toBe(200);
  });

  it('TLS with a certificate, CORS only for configured origins, and X-Forwarded-For only behind a trusted proxy', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agentmem-tls-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-days',
        '1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    const cert = readFileSync(join(dir, 'cert.pem'));
    const app = await buildServer({
      memory,
      keys,
      config: { ...memory.config.server, cors: { origins: ['https://app.example.com'] } },
      version: 'test',
      health: () => ({ state: 'healthy' }),
      tls: { cert, key: readFileSync(join(dir, 'key.pem')) },
    });
    servers.push(app);
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    expect(url).toMatch(/^https:/);
    const get = (path: string, headers: Record<string, string> = {}, method = 'GET') =>
      new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((resolve, reject) => {
        const request = httpsRequest(`${url}${path}`, { method, ca: cert, headers }, (response) => {
          let body = '';
          response.on('data', (chunk) => {
            body += chunk;
          });
          response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
        });
        request.on('error', reject);
        request.end();
      });
    expect(JSON.parse((await get('/healthz')).body)).toEqual({ state: 'healthy' });
    const allowedOrigin = await get(
      '/v1/sessions',
      { origin: 'https://app.example.com', 'access-control-request-method': 'GET' },
      'OPTIONS',
    );
    expect(allowedOrigin.headers['access-control-allow-origin']).toBe('https://app.example.com');
    const otherOrigin = await get(
      '/v1/sessions',
      { origin: 'https://evil.example.com', 'access-control-request-method': 'GET' },
      'OPTIONS',
    );
    expect(otherOrigin.headers['access-control-allow-origin']).toBeUndefined();
    // Plain HTTP: no CORS headers at all by default.
    const { url: plain } = await serve();
    expect(
      (await call(plain, 'GET', '/healthz', { headers: { origin: 'https://app.example.com' } })).headers.get('access-control-allow-origin'),
    ).toBeNull();

    // The allow list sees the client behind a trusted proxy, and only then.
    const forwarded = { 'x-forwarded-for': '10.1.2.3' };
    const { url: proxied } = await serve({ trustProxy: ['127.0.0.1'], allowIps: ['10.0.0.0/8'] });
    expect((await call(proxied, 'GET', '/healthz', { headers: forwarded })).status).toBe(200);
    const { url: direct } = await serve({ allowIps: ['10.0.0.0/8'] });
    expect((await call(direct, 'GET', '/healthz', { headers: forwarded })).status).toBe(403);
  });

  it('agentmem keys and agentmem serve as processes: a key shown once, a request, SIGTERM drains and exits 0; no secret in any output', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'agentmem-serve-cli-'));
    writeFileSync(
      join(cwd, 'agentmem.config.json'),
      JSON.stringify({ providers: [{ name: 'main', url: cluster.servers[0]!.url() }], server: { port: 0 } }),
    );
    const created = await runCli(['keys', 'create', '--tenant', 'cli-tenant', '--scope', 'write', '--json'], { cwd });
    expect(created.code, created.stderr).toBe(0);
    const { key, id } = JSON.parse(created.stdout);
    expect(key).toMatch(/^amk_/);
    const listed = await runCli(['keys', 'list', '--tenant', 'cli-tenant'], { cwd });
    expect(listed.stdout).toContain(id);
    expect(listed.stdout).not.toContain(key.split('.')[2]);
    const server = startCli(['serve', '--log-level', 'info'], { cwd });
    let result: Awaited<typeof server.exited>;
    try {
      const { address: url } = JSON.parse(await server.waitForLog(/agentmem API listening/, 30_000));
      // A request in flight when SIGTERM arrives (a large import, still running) is answered before the process exits.
      const atoms = Array.from({ length: 3000 }, (_, i) => ({
        atomId: `acme:drain:atom-${i}`,
        atomType: 'concept',
        title: `Atom ${i}`,
        summary: `summary ${i}`,
        content: `content of atom ${i} about pumps, valves and motors`,
        sourceDocument: 'drain.pdf',
        sourceUrl: 'https://example.com/drain.pdf',
      }));
      const inFlight = fetch(`${url}/v1/atoms`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ atoms }),
      }).then((r) => ({ status: r.status, at: performance.now() }));
      await new Promise((r) => setTimeout(r, 300));
      const killedAt = performance.now();
      server.kill('SIGTERM');
      const answered = await inFlight;
      expect(answered.status).toBe(200);
      expect(answered.at).toBeGreaterThan(killedAt);
      result = await server.exited;
      expect(result.code, result.stderr).toBe(0);
    } finally {
      server.kill('SIGKILL');
    }
    expect(result.stderr).toMatch(/draining in-flight requests/);
    const everything = `${created.stdout}${created.stderr}${listed.stdout}${listed.stderr}${result.stdout}${result.stderr}`;
    expect(everything.split(key.split('.')[2]).length - 1).toBe(1); // the once it was shown
    expect(everything).not.toContain(TEST_PASSWORD);
    expect(answers.map((a) => a.answer.text).join('')).not.toContain(TEST_PASSWORD);
  });
});
