import { createServer, type IncomingMessage, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { EmbedderError } from '../../src/index.js';
import { LocalHashEmbedder, OpenAIEmbedder } from '../../src/ops/index.js';

describe('local hash embedder', () => {
  it('is deterministic, normalised, and closer for related texts', async () => {
    const e = new LocalHashEmbedder(384);
    const [a, a2, b, c] = await e.embed([
      'motor overheating after restart',
      'motor overheating after restart',
      'overheated motors',
      'pump cavitation noise',
    ]);
    expect(a).toEqual(a2);
    expect(a).toHaveLength(384);
    const norm = Math.sqrt((a as number[]).reduce((s, v) => s + v * v, 0));
    expect(norm).toBeCloseTo(1, 4);
    const cos = (x: number[], y: number[]) => x.reduce((s, v, i) => s + v * (y[i] ?? 0), 0);
    expect(cos(a as number[], b as number[])).toBeGreaterThan(cos(a as number[], c as number[]));
    expect(e.model).toBe('agentmem-local-hash-v1');
  });
});

/** A stand-in for an OpenAI-compatible /v1/embeddings endpoint, on loopback. */
let server: Server | undefined;
async function closeServer(): Promise<void> {
  const current = server;
  server = undefined;
  if (current) await new Promise((resolve) => current.close(resolve));
}
afterEach(closeServer);

async function fakeEndpoint(
  handler: (
    body: { model: string; input: string[] },
    req: IncomingMessage,
    call: number,
  ) => { status: number; body: unknown; headers?: Record<string, string> },
) {
  let calls = 0;
  server = createServer((req, res) => {
    let raw = '';
    req.on('data', (d) => {
      raw += d;
    });
    req.on('end', () => {
      calls++;
      const reply = handler(JSON.parse(raw), req, calls);
      res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
      res.end(JSON.stringify(reply.body));
    });
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { baseUrl: `http://127.0.0.1:${port}`, calls: () => calls };
}

const vectorsFor = (input: string[], dim: number) => ({
  data: input.map((text, index) => ({ index, embedding: Array.from({ length: dim }, (_, j) => (text.length + j) / 100) })),
  model: 'm',
  usage: { prompt_tokens: input.length },
});

describe('OpenAI-compatible embedder (the AI SDK provider through embedMany)', () => {
  it('batches requests, sends the key, and returns vectors in input order', async () => {
    const seen: { size: number; auth: string | undefined; model: string; path: string | undefined }[] = [];
    const endpoint = await fakeEndpoint((body, req) => {
      seen.push({ size: body.input.length, auth: req.headers.authorization, model: body.model, path: req.url });
      return { status: 200, body: vectorsFor(body.input, 4) };
    });
    const e = new OpenAIEmbedder({
      baseUrl: endpoint.baseUrl,
      model: 'text-embedding-test',
      dimensions: 4,
      apiKey: 'sk-test-key',
      batchSize: 2,
    });
    expect(e.model).toBe('text-embedding-test');
    const texts = ['a', 'bb', 'ccc', 'dddd', 'eeeee'];
    const vectors = await e.embed(texts);
    const call = { auth: 'Bearer sk-test-key', model: 'text-embedding-test', path: '/v1/embeddings' };
    expect(seen).toEqual([
      { size: 2, ...call },
      { size: 2, ...call },
      { size: 1, ...call },
    ]);
    expect(vectors.map((v) => v[0])).toEqual(texts.map((t) => t.length / 100));
  });

  it('retries 429 and 5xx with backoff, honouring Retry-After', async () => {
    const endpoint = await fakeEndpoint((body, _req, call) => {
      if (call === 1)
        return { status: 429, body: { error: { message: 'slow down' } }, headers: { 'retry-after-ms': '50' } as Record<string, string> };
      if (call === 2) return { status: 503, body: { error: { message: 'busy' } }, headers: { 'retry-after': '0' } };
      return { status: 200, body: vectorsFor(body.input, 3) };
    });
    const e = new OpenAIEmbedder({ baseUrl: `${endpoint.baseUrl}/v1/`, model: 'm', dimensions: 3, maxRetries: 3 });
    expect(await e.embed(['x'])).toHaveLength(1);
    expect(endpoint.calls()).toBe(3);
  });

  it('does not retry a 4xx, gives up after its retries, and never leaks the key', async () => {
    const bad = await fakeEndpoint(() => ({ status: 401, body: { error: { message: 'invalid key sk-secret-123456' } } }));
    const e = new OpenAIEmbedder({ baseUrl: bad.baseUrl, model: 'm', dimensions: 3, apiKey: 'sk-secret-123456', maxRetries: 3 });
    const error = await e.embed(['x']).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(EmbedderError);
    expect(bad.calls()).toBe(1);
    expect(String((error as Error).message)).toMatch(/invalid key/);
    expect(String((error as Error).message)).not.toContain('sk-secret-123456');
    await closeServer();

    const down = await fakeEndpoint(() => ({ status: 500, body: { error: { message: 'down' } }, headers: { 'retry-after-ms': '20' } }));
    const flaky = new OpenAIEmbedder({ baseUrl: down.baseUrl, model: 'm', dimensions: 3, maxRetries: 2 });
    await expect(flaky.embed(['x'])).rejects.toThrow(/after 3 attempts/);
    expect(down.calls()).toBe(3);
  });

  it('rejects vectors of the wrong dimension, and a hung endpoint, with clear errors', async () => {
    const endpoint = await fakeEndpoint((body) => ({ status: 200, body: vectorsFor(body.input, 5) }));
    const e = new OpenAIEmbedder({ baseUrl: endpoint.baseUrl, model: 'm', dimensions: 3 });
    await expect(e.embed(['x'])).rejects.toThrow(/the embedder m returned a vector at 0 with 5 dimensions, expected 3/);
    await closeServer();

    server = createServer(() => {}); // accepts the request and never answers
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const hung = new OpenAIEmbedder({ baseUrl: `http://127.0.0.1:${port}`, model: 'm', dimensions: 3, timeoutMs: 200, maxRetries: 0 });
    await expect(hung.embed(['x'])).rejects.toThrow(EmbedderError);
    server.closeAllConnections();
  });
});
