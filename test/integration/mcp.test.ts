/**
 * The MCP server, spoken to by the SDK's own Client over stdio (`agentmem mcp`,
 * a process) and over Streamable HTTP (`/mcp` on the HTTP API, with an API
 * key), and by the MCP Inspector's CLI as an outside client.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentMemory, createMemory, loadConfig } from '../../src/index.js';
import { buildServer } from '../../src/server/app.js';
import { ApiKeys } from '../../src/server/keys.js';
import { childEnv } from '../harness/child-env.js';
import { ROOT } from '../harness/cli.js';
import { useCluster } from '../harness/router-cluster.js';

const run = promisify(execFile);
const BIN = join(ROOT, 'bin', 'agentmem.js');
const INSPECTOR = join(ROOT, 'node_modules', '@modelcontextprotocol', 'inspector', 'cli', 'build', 'cli.js');
const TOOLS = [
  'add_memory',
  'delete_memory',
  'get_memory',
  'get_session',
  'get_working_memory',
  'list_memories',
  'recall_context',
  'save_message',
  'search_knowledge',
  'search_memories',
  'search_messages',
  'update_working_memory',
];

const cluster = useCluster(1);
let memory: AgentMemory;
let cwd: string;
let app: FastifyInstance | undefined;
beforeAll(async () => {
  cwd = mkdtempSync(join(tmpdir(), 'agentmem-mcp-'));
  writeFileSync(join(cwd, 'agentmem.config.json'), JSON.stringify({ providers: [{ name: 'main', url: cluster.servers[0]!.url() }] }));
  const config = await loadConfig({ cwd, env: {} });
  memory = await createMemory({ workers: false, config, migrate: true });
  await memory.settings.list();
});
afterAll(async () => {
  await app?.close();
  await memory?.close();
});

type Result = { content: { type: string; text: string }[]; isError?: boolean };
const parsed = (result: unknown) => JSON.parse((result as Result).content[0]!.text);

/** Each tool once, through a connected client; returns what the tenant ended up holding. */
async function exercise(client: Client) {
  const tools = await client.listTools();
  expect(tools.tools.map((t) => t.name).sort()).toEqual(TOOLS);
  // Each input schema is the library's: the memory types, the message roles.
  const add = tools.tools.find((t) => t.name === 'add_memory')!;
  expect(JSON.stringify(add.inputSchema)).toContain('"decision"');
  const saved = parsed(
    await client.callTool({
      name: 'add_memory',
      arguments: { type: 'decision', content: { text: 'use nightly backups' }, importance: 0.8 },
    }),
  );
  expect(saved).toMatchObject({ type: 'decision', importance: 0.8 });
  expect(parsed(await client.callTool({ name: 'get_memory', arguments: { id: saved.id } })).id).toBe(saved.id);
  expect(
    parsed(await client.callTool({ name: 'search_memories', arguments: { text: 'nightly' } })).map((m: { id: string }) => m.id),
  ).toEqual([saved.id]);
  expect(parsed(await client.callTool({ name: 'list_memories', arguments: { types: ['decision'] } }))).toHaveLength(1);
  const message = parsed(
    await client.callTool({
      name: 'save_message',
      arguments: {
        session: { externalId: 'host-thread', title: 'from MCP' },
        message: { role: 'user', content: 'hello from the host', createdAt: '2026-01-02T03:04:05Z' },
      },
    }),
  );
  expect(message).toMatchObject({ role: 'user', content: 'hello from the host', seq: 0, createdAt: '2026-01-02T03:04:05.000Z' });
  const again = parsed(
    await client.callTool({
      name: 'save_message',
      arguments: { sessionId: message.sessionId, message: { role: 'assistant', content: 'hi' } },
    }),
  );
  expect(again.seq).toBe(1);
  const session = parsed(await client.callTool({ name: 'get_session', arguments: { sessionId: message.sessionId } }));
  expect(session.session.title).toBe('from MCP');
  expect(session.messages.map((m: { content: string }) => m.content)).toEqual(['hello from the host', 'hi']);
  expect(parsed(await client.callTool({ name: 'search_knowledge', arguments: { query: 'pump', mode: 'text' } })).results).toEqual([]);
  // Recall by meaning: search_memories with a query, search_messages, and recall_context's cited block.
  const byMeaning = parsed(await client.callTool({ name: 'search_memories', arguments: { query: 'nightly backups', mode: 'text' } }));
  expect(byMeaning.hits.map((h: { memory: { id: string }; textRank: number }) => [h.memory.id, h.textRank])).toEqual([[saved.id, 1]]);
  const said = parsed(
    await client.callTool({
      name: 'search_messages',
      arguments: { query: 'hello host', mode: 'text', scope: { sessionId: message.sessionId }, around: 1 },
    }),
  );
  expect(said.hits[0].context.map((m: { content: string }) => m.content)).toEqual(['hello from the host', 'hi']);
  const context = parsed(
    await client.callTool({
      name: 'recall_context',
      arguments: { sessionId: message.sessionId, query: 'nightly backups', budgetTokens: 300 },
    }),
  );
  expect(context).toMatchObject({ memories: [saved.id], turns: 2 });
  expect(context.text).toContain(`[memory ${saved.id}]`);
  expect(context.tokens).toBeLessThanOrEqual(300);
  // Working memory: merged updates, then the document is in recall_context's block.
  await client.callTool({ name: 'update_working_memory', arguments: { userId: 'mcp-user', patch: { diet: 'vegetarian' } } });
  const working = parsed(
    await client.callTool({ name: 'update_working_memory', arguments: { userId: 'mcp-user', patch: { city: 'Porto' } } }),
  );
  expect(working.content).toEqual({ diet: 'vegetarian', city: 'Porto' });
  expect(parsed(await client.callTool({ name: 'get_working_memory', arguments: { userId: 'mcp-user' } })).content).toEqual({
    diet: 'vegetarian',
    city: 'Porto',
  });
  const withWorking = parsed(
    await client.callTool({ name: 'recall_context', arguments: { scope: { userId: 'mcp-user' }, query: 'dinner', budgetTokens: 300 } }),
  );
  expect(withWorking.text).toContain('Working memory:');
  expect(withWorking.text).toContain('"city": "Porto"');
  // Sessions and memories are resources too: listed (the newest), read by URI.
  const resources = (await client.listResources()).resources;
  const sessionResource = resources.find((r) => r.uri === `agentmem://sessions/${message.sessionId}`);
  expect(sessionResource?.name).toBe('from MCP');
  const read = await client.readResource({ uri: `agentmem://sessions/${message.sessionId}` });
  expect(JSON.parse((read.contents[0] as { text: string }).text).messages.map((m: { content: string }) => m.content)).toEqual([
    'hello from the host',
    'hi',
  ]);
  expect((await client.listPrompts()).prompts.map((p) => p.name)).toEqual(['recall_context']);
  // Bad input: refused with the library's error, nothing written.
  const bad = (await client.callTool({ name: 'add_memory', arguments: { type: 'decision', content: 'nul \u0000' } })) as Result;
  expect(bad.isError).toBe(true);
  expect(bad.content[0]!.text).toMatch(/VALIDATION|NUL/);
  expect(parsed(await client.callTool({ name: 'delete_memory', arguments: { id: saved.id } }))).toBe(true);
  expect(parsed(await client.callTool({ name: 'get_memory', arguments: { id: saved.id } }))).toBeNull();
}

describe('agentmem MCP server', () => {
  it('over stdio (agentmem mcp --tenant T): every tool, as that tenant', async () => {
    const client = new Client({ name: 'test-host', version: '1.0.0' });
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [BIN, 'mcp', '--tenant', 'mcp-stdio'],
      cwd,
      env: childEnv(),
      stderr: 'pipe',
    });
    await client.connect(transport);
    try {
      await exercise(client);
    } finally {
      await client.close();
    }
    const held = await memory.forTenant('mcp-stdio').sessions.list();
    expect(held.map((s) => s.externalId)).toEqual(['host-thread']);
    expect(await memory.forTenant('default').sessions.list()).toEqual([]);
  });

  it('over Streamable HTTP at /mcp with an API key: every tool, as the key’s tenant; no key, no MCP', async () => {
    const keys = new ApiKeys(memory);
    app = await buildServer({ memory, keys, config: memory.config.server, version: 'test' });
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    const { key } = await keys.create('mcp-http', 'write');
    const client = new Client({ name: 'test-host', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${key}` } } }),
    );
    try {
      await exercise(client);
    } finally {
      await client.close();
    }
    expect((await memory.forTenant('mcp-http').sessions.list()).map((s) => s.title)).toEqual(['from MCP']);
    const anonymous = new Client({ name: 'anonymous', version: '1.0.0' });
    await expect(anonymous.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`)))).rejects.toThrow();
    const read = await keys.create('mcp-http', 'read');
    const reader = await fetch(`${url}/mcp`, {
      method: 'POST',
      headers: { authorization: `Bearer ${read.key}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(reader.status).toBe(403);
  });

  it('the MCP Inspector CLI (an outside client) lists the tools and calls one over stdio', async () => {
    const env = { ...process.env, AGENTMEM_TENANT: 'mcp-inspector' };
    const listed = await run(process.execPath, [INSPECTOR, '--cli', process.execPath, BIN, 'mcp', '--method', 'tools/list'], {
      cwd,
      env,
      timeout: 60_000,
    });
    expect(
      JSON.parse(listed.stdout)
        .tools.map((t: { name: string }) => t.name)
        .sort(),
    ).toEqual(TOOLS);
    const called = await run(
      process.execPath,
      [
        INSPECTOR,
        '--cli',
        process.execPath,
        BIN,
        'mcp',
        '--method',
        'tools/call',
        '--tool-name',
        'add_memory',
        '--tool-arg',
        'type=log',
        '--tool-arg',
        'content=from the inspector',
      ],
      { cwd, env, timeout: 60_000 },
    );
    const result = JSON.parse(called.stdout);
    expect(result.isError ?? false).toBe(false);
    expect(JSON.parse(result.content[0].text)).toMatchObject({ type: 'log', content: 'from the inspector' });
    expect((await memory.forTenant('mcp-inspector').memories.recall({})).map((m) => m.content)).toEqual(['from the inspector']);
  });
});
