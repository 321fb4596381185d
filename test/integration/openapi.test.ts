/**
 * The OpenAPI document as a client generator meets it: linted by Redocly CLI
 * (recommended) and Spectral (spectral:oas); TypeScript types generated from
 * it by openapi-typescript; a client written with openapi-fetch against those
 * types type-checked under --strict and run through every operation against
 * a server on the embedded database, each request and answer validated
 * against the document (Ajv, JSON Schema 2020-12, formats checked).
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import type { Middleware } from 'openapi-fetch';
import openapiTS, { astToString } from 'openapi-typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentMemory, createMemory, loadConfig } from '../../src/index.js';
import { buildServer } from '../../src/server/app.js';
import { ApiKeys } from '../../src/server/keys.js';
import { type OpenApiDocument, openApiValidator } from '../harness/openapi.js';

const run = promisify(execFile);
type Workflow = (
  baseUrl: string,
  keys: { write: string; admin: string },
  check: Middleware,
) => Promise<Record<string, unknown> & { said: string[]; listed: string[] }>;
const ROOT = resolve(import.meta.dirname, '../..');
const FIXTURES = join(ROOT, 'test/fixtures/openapi');
const bin = (name: string) => join(ROOT, 'node_modules/.bin', name);
// The linters' notices and telemetry stay off: no network here, and their output is read as JSON.
const QUIET = { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_UPDATE_NOTIFIER: '1' };

let memory: AgentMemory;
let app: FastifyInstance;
let url: string;
let document: OpenApiDocument;
let file: string;
const keys = { write: '', admin: '', read: '' };

beforeAll(async () => {
  const cwd = mkdtempSync(join(tmpdir(), 'agentmem-openapi-'));
  memory = await createMemory({ workers: false, config: await loadConfig({ cwd, env: {} }) });
  const apiKeys = new ApiKeys(memory);
  keys.write = (await apiKeys.create('travel', 'write')).key;
  keys.admin = (await apiKeys.create('travel', 'admin')).key;
  keys.read = (await apiKeys.create('travel', 'read')).key;
  app = await buildServer({ memory, keys: apiKeys, config: memory.config.server, version: '1.2.3', health: () => ({ state: 'healthy' }) });
  url = await app.listen({ port: 0, host: '127.0.0.1' });
  document = (await (await fetch(`${url}/v1/openapi.json`)).json()) as OpenApiDocument;
  file = join(mkdtempSync(join(tmpdir(), 'agentmem-openapi-doc-')), 'openapi.json');
  writeFileSync(file, JSON.stringify(document, null, 2));
}, 60_000);
afterAll(async () => {
  await app?.close();
  await memory?.close();
});

describe('the OpenAPI document', () => {
  it('passes Redocly CLI (recommended rules) and Spectral (spectral:oas) with no error and no warning', async () => {
    const redocly = await run(bin('redocly'), ['lint', file, '--config', join(FIXTURES, 'redocly.yaml'), '--format=json'], {
      env: QUIET,
      maxBuffer: 64 * 1024 * 1024,
    }).catch((failed: { stdout: string }) => failed);
    const report = JSON.parse(redocly.stdout) as { totals: { errors: number; warnings: number }; problems: { message: string }[] };
    expect(report.problems.map((p) => p.message)).toEqual([]);
    expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });

    const spectral = await run(bin('spectral'), ['lint', file, '--ruleset', join(FIXTURES, 'spectral.yaml'), '--format', 'json'], {
      env: QUIET,
      maxBuffer: 64 * 1024 * 1024,
    }).catch((failed: { stdout: string }) => failed);
    // Its JSON report, then (on success) a line of its own.
    const spectralReport = spectral.stdout.slice(0, spectral.stdout.lastIndexOf(']') + 1);
    const found = JSON.parse(spectralReport) as { code: string; message: string; path: string[] }[];
    expect(found.map((p) => `${p.code} at ${p.path.join('.')}: ${p.message}`)).toEqual([]);
  }, 120_000);

  it('names every operation, its tag, its errors and the server that published it', () => {
    const operations = Object.values(document.paths).flatMap((methods) => Object.values(methods));
    const ids = operations.map((op) => op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const op of operations) {
      expect(Object.keys(op.responses), op.operationId).toContain('default');
      expect(
        Object.keys(op.responses).some((s) => s.startsWith('4')),
        op.operationId,
      ).toBe(true);
    }
    expect((document as unknown as { servers: { url: string }[] }).servers).toEqual([{ url }]);
    // A time in a request is described as exactly what the server accepts: an ISO string with seconds and an offset.
    const since = document.paths['/v1/sessions']?.get?.parameters?.find((p) => p.name === 'since');
    const pattern = new RegExp(since?.schema.pattern as string);
    expect(since?.schema).toMatchObject({ type: 'string', format: 'date-time' });
    expect(['2026-05-01T09:30:00Z', '2026-05-01T11:30:00.250+02:00'].every((t) => pattern.test(t))).toBe(true);
    expect(['2026-05-01', '2026-05-01T09:30Z', '2026-05-01T09:30:00', 'yesterday'].some((t) => pattern.test(t))).toBe(false);
  });

  it('every query parameter the server reads is in the document; one it does not read is refused, not ignored', async () => {
    const get = (path: string) => fetch(`${url}${path}`, { headers: { authorization: `Bearer ${keys.read}` } });
    for (const path of ['/v1/sessions?limt=5', '/v1/sessions?active=yes', '/v1/sessions?limit=ten', '/v1/sessions?since=2026-05-01']) {
      const answer = await get(path);
      expect(answer.status, path).toBe(400);
      expect(((await answer.json()) as { code: string }).code, path).toBe('VALIDATION');
    }
    const session = (await (
      await fetch(`${url}/v1/sessions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${keys.write}`, 'content-type': 'application/json' },
        body: JSON.stringify({ title: 'export' }),
      })
    ).json()) as { id: string };
    expect((await get(`/v1/sessions/${session.id}/export?format=pdf`)).status).toBe(400);
    expect((await get(`/v1/sessions/${session.id}/export?asOf=2020-01-01T00:00:00Z`)).status).toBe(404); // it did not exist then
    expect((await get(`/v1/sessions/${session.id}/messages?before=2999-01-01T00:00:00Z&role=user&limit=3`)).status).toBe(200);
  });

  it('generated types: an openapi-fetch client type-checks under --strict and runs every operation; every request and answer matches the document', async () => {
    // The client's directory: the generated types beside the client, the repository's packages reachable.
    const dir = mkdtempSync(join(tmpdir(), 'agentmem-openapi-client-'));
    writeFileSync(join(dir, 'api.d.ts'), astToString(await openapiTS(document as never)));
    copyFileSync(join(FIXTURES, 'workflow.ts'), join(dir, 'workflow.ts'));
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          noEmit: true,
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          lib: ['ES2022', 'DOM'],
          types: [],
          skipLibCheck: false,
          noUncheckedIndexedAccess: true,
          exactOptionalPropertyTypes: true,
        },
        files: ['workflow.ts'],
      }),
    );
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
    const tsc = await run(bin('tsc'), ['-p', dir], { maxBuffer: 16 * 1024 * 1024 }).catch((failed: { stdout: string }) => failed);
    expect(tsc.stdout).toBe('');

    const validator = openApiValidator(document);
    const wrong: string[] = [];
    const called = new Set<string>();
    const check: Middleware = {
      async onRequest({ request }) {
        const text = await request.clone().text();
        called.add(validator.operation(request.method, new URL(request.url).pathname).operationId);
        const problem = validator.request(request.method, request.url, text ? JSON.parse(text) : undefined);
        if (problem) wrong.push(problem);
      },
      async onResponse({ request, response }) {
        const type = response.headers.get('content-type') ?? '';
        const text = await response.clone().text();
        const body = type.includes('json') && text ? JSON.parse(text) : text;
        const problem = validator.response(request.method, request.url, response.status, type, body);
        if (problem) wrong.push(problem);
      },
    };
    // The client as type-checked above (imported by path: the repository's own type check cannot see its generated types).
    const { workflow } = (await import(join(dir, 'workflow.ts'))) as { workflow: Workflow };
    const seen = await workflow(url, keys, check);
    expect(wrong).toEqual([]);
    const operations = Object.values(document.paths).flatMap((methods) => Object.values(methods).map((op) => op.operationId));
    expect([...called].sort()).toEqual(operations.sort());
    expect(seen).toMatchObject({
      health: 'healthy',
      documentTitle: 'agentmem',
      sameSession: true,
      appended: 2,
      transcript: ['I am vegetarian and I fly out of Lisbon on Friday.', 'Find me a window seat.'],
      duplicateOf: true,
      recalled: 1,
      byMeaning: ['vegetarian'],
      working: { seat: 'window', home: 'Lisbon' },
      noModel: 'FORMATION_OFF',
      upserted: 1,
      atoms: 1,
      setting: 'EUR',
      overviewTenant: 'travel',
      forgotten: 204,
      deleted: 204,
      gone: 'NOT_FOUND',
    });
    expect(seen.said[0]).toContain('Lisbon');
    expect(seen.listed).toHaveLength(1);
  }, 120_000);
});
