/**
 * The peers' known failures, tried on every side: another user reading the
 * first's rows (and LangGraph's sibling namespace: `u1` against `u10`), what
 * a delete-all-for-a-user leaves in any table, the value read after a chain
 * of changes, a writer killed with SIGKILL mid-batch (acknowledged against
 * present), and MCP memory servers written by several clients at once.
 * Each check counts failures; 0 is the goal on every side.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { PgServer } from '../../test/harness/postgres.js';
import {
  agentmemItems,
  agentmemMemories,
  type ItemSystem,
  type MemorySystem,
  openAgentmem,
  openLangGraphStore,
  openMem0,
} from './systems.js';

// biome-ignore lint/suspicious/noExplicitAny: the compiled library is loaded by path at run time
type Lib = any;
interface Context {
  server: PgServer;
  lib: Lib;
  ops: Lib;
  embeddings: unknown;
  url: (database: string) => string;
}

const here = fileURLToPath(new URL('.', import.meta.url));
const root = join(here, '../..');

/** Rows of any user table in the database whose text names `needle`, per table (only tables with some). */
function rowsNaming(server: PgServer, database: string, needle: string): Record<string, number> {
  const tables = server
    .psql(
      "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')",
      database,
    )
    .split('\n')
    .filter(Boolean);
  const counts = tables.map((table) => [
    table,
    Number(server.psql(`SELECT count(*) FROM ${table} t WHERE t::text LIKE '%${needle}%'`, database)),
  ]);
  return Object.fromEntries(counts.filter(([, n]) => n));
}

async function siblings(system: ItemSystem | MemorySystem): Promise<number> {
  const write = (user: string, text: string) => ('put' in system ? system.put(user, text, text) : system.add(user, text));
  await write('u1', 'the secret of u1 is amber');
  await write('u10', 'the secret of u10 is basalt');
  const hits = await system.search('u1', 'what is the secret', 10);
  return hits.filter((h) => h.user !== 'u1').length;
}

async function chain(system: ItemSystem | MemorySystem): Promise<number> {
  const texts = [
    'the deploy day of chain-user is monday',
    'the deploy day of chain-user is tuesday',
    'the deploy day of chain-user is friday',
  ];
  if ('put' in system) for (const text of texts) await system.put('chain-user', 'deploy-day', text);
  else {
    let id = await system.add('chain-user', texts[0] as string);
    for (const text of texts.slice(1)) id = await system.supersede('chain-user', id, text);
  }
  const hits = await system.search('chain-user', 'what is the deploy day of chain-user', 10);
  // A failure: the latest value missing, or an older one still returned.
  return (hits[0]?.text === texts[2] ? 0 : 1) + hits.filter((h) => h.text !== texts[2]).length;
}

/** A writer killed with SIGKILL after `after` acknowledged writes: acknowledged markers missing from the database. */
async function killed(
  system: string,
  url: string,
  count: (markers: string[]) => string[],
  after = 300,
): Promise<{ acknowledged: number; lost: number }> {
  const child = spawn(process.execPath, [...process.execArgv, join(here, 'writer.ts'), system, url], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const acked: string[] = [];
  let buffer = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) if (line.startsWith('ack ')) acked.push(line.slice(4));
      if (acked.length >= after && child.exitCode === null) {
        child.kill('SIGKILL');
        resolve();
      }
    });
    child.on('exit', () => resolve());
    child.on('error', reject);
  });
  await new Promise((r) => setTimeout(r, 200));
  const present = new Set(count(acked));
  return { acknowledged: acked.length, lost: acked.filter((m) => !present.has(m)).length };
}

/** N MCP clients, each with its own server process, writing K entries at once: entries there afterwards. */
async function mcpClients(launch: () => StdioClientTransport, write: (client: Client, id: string) => Promise<unknown>, n = 4, k = 25) {
  await Promise.all(
    Array.from({ length: n }, async (_, c) => {
      const client = new Client({ name: `bench-${c}`, version: '1.0.0' });
      await client.connect(launch());
      for (let i = 0; i < k; i++) await write(client, `client${c}-entry${i}`);
      await client.close();
    }),
  );
  return n * k;
}

export async function correctness({ server, lib, ops, embeddings, url }: Context) {
  const out: Record<string, unknown> = {};
  const amMemory = await openAgentmem(lib, url('c_agentmem'));
  const am = agentmemMemories(amMemory);
  const amStore = agentmemItems((await import(`${process.env.AGENTMEM_BUILD}/src/adapters/langgraph.js`)) as Lib, amMemory);
  const mem0 = await openMem0(url('c_mem0'), embeddings);
  const lgStore = await openLangGraphStore(url('c_lgstore'), embeddings);

  out.siblingNamespaceLeaks = {
    agentmem: await siblings(am),
    mem0: await siblings(mem0),
    'agentmem store': await siblings(amStore),
    'langgraph store': await siblings(lgStore),
  };
  out.staleAfterChangeChain = {
    agentmem: await chain(am),
    mem0: await chain(mem0),
    'agentmem store': await chain(amStore),
    'langgraph store': await chain(lgStore),
  };

  // Delete everything of one user, then look for that user's name in every table.
  for (let i = 0; i < 20; i++) {
    await am.add('erase-me', `erase-me fact ${i}`);
    await mem0.add('erase-me', `erase-me fact ${i}`);
  }
  const config = await ops.loadConfig({
    env: {},
    overrides: { providers: [{ name: 'bench', url: server.url({ database: 'c_agentmem' }) }], replication: { enabled: false } },
  });
  const providers = ops.ProviderSet.fromConfig(config);
  await ops.eraseSubject(config, providers, { tenant: 'bench', userId: 'erase-me' });
  await providers.close();
  await mem0.deleteUser('erase-me');
  out.rowsLeftAfterDeleteUser = { agentmem: rowsNaming(server, 'c_agentmem', 'erase-me'), mem0: rowsNaming(server, 'c_mem0', 'erase-me') };

  await mem0.close();
  await lgStore.close();
  await amMemory.close();

  const present = (database: string, sql: string) => (markers: string[]) =>
    server
      .psql(sql.replace('$1', `ARRAY[${markers.map((m) => `'${m}'`).join(',') || "''"}]`), database)
      .split('\n')
      .filter(Boolean);
  // Each side's writer, the database it writes, and the query that finds which of its markers are there
  // (LangChain's history and LangGraph's saver get new databases; the others write the ones above).
  url('c_lchistory');
  url('c_lgsaver');
  const writers: [string, string, string, string][] = [
    ['agentmem', 'agentmem', 'c_agentmem', "SELECT content #>> '{}' FROM agentmem.memories WHERE content #>> '{}' = ANY($1)"],
    ['mem0', 'mem0', 'c_mem0', "SELECT payload->>'data' FROM memories WHERE payload->>'data' = ANY($1)"],
    ['agentmem store', 'agentmem-store', 'c_agentmem', 'SELECT item_key FROM agentmem.memories WHERE item_key = ANY($1)'],
    ['langgraph store', 'langgraph', 'c_lgstore', 'SELECT key FROM store WHERE key = ANY($1)'],
    [
      'agentmem messages',
      'agentmem-messages',
      'c_agentmem',
      "SELECT content #>> '{}' FROM agentmem.memories WHERE memory_type = 'message_user' AND content #>> '{}' = ANY($1)",
    ],
    [
      'langchain history',
      'langchain',
      'c_lchistory',
      "SELECT message->>'content' FROM langchain_chat_histories WHERE message->>'content' = ANY($1)",
    ],
    [
      'agentmem checkpoints',
      'agentmem-checkpoints',
      'c_agentmem',
      'SELECT checkpoint_id FROM agentmem.checkpoints WHERE checkpoint_id = ANY($1)',
    ],
    ['langgraph saver', 'langgraph-saver', 'c_lgsaver', 'SELECT checkpoint_id FROM checkpoints WHERE checkpoint_id = ANY($1)'],
  ];
  const killedWriter: Record<string, unknown> = {};
  for (const [name, system, database, sql] of writers)
    killedWriter[name] = await killed(system, server.url({ database }), present(database, sql));
  out.killedWriter = killedWriter;

  // MCP: the reference memory server (a JSON file per server process) against agentmem's, four clients at once.
  const dir = mkdtempSync(join(tmpdir(), 'agentmem-peers-mcp-'));
  const file = join(dir, 'memory.jsonl');
  const reference = await mcpClients(
    () =>
      new StdioClientTransport({
        command: process.execPath,
        args: [join(here, 'node_modules/@modelcontextprotocol/server-memory/dist/index.js')],
        env: { ...(process.env as Record<string, string>), MEMORY_FILE_PATH: file },
        stderr: 'ignore',
      }),
    (client, id) =>
      client.callTool({ name: 'create_entities', arguments: { entities: [{ name: id, entityType: 'note', observations: [id] }] } }),
  );
  const saved = readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.includes('"type":"entity"'))
    .map((line) => JSON.parse(line).name as string);
  writeFileSync(
    join(dir, 'agentmem.config.json'),
    JSON.stringify({ providers: [{ name: 'bench', url: server.url({ database: 'c_agentmem' }) }], replication: { enabled: false } }),
  );
  const ours = await mcpClients(
    () =>
      new StdioClientTransport({
        command: process.execPath,
        args: [join(root, 'bin/agentmem.js'), 'mcp', '--tenant', 'mcp'],
        cwd: dir,
        env: { ...(process.env as Record<string, string>) },
        stderr: 'ignore',
      }),
    (client, id) => client.callTool({ name: 'add_memory', arguments: { type: 'context', content: id } }),
  );
  const stored = Number(server.psql("SELECT count(DISTINCT content) FROM agentmem.memories WHERE tenant_id = 'mcp'", 'c_agentmem'));
  out.mcpConcurrentClients = {
    clients: 4,
    entriesEach: 25,
    'server-memory': { written: reference, present: new Set(saved).size, lost: reference - new Set(saved).size },
    agentmem: { written: ours, present: stored, lost: ours - stored },
  };
  return out;
}
