/**
 * AgentmemSaver held to LangGraph's own checkpointer conformance suite
 * (@langchain/langgraph-checkpoint-validation's `validate`), on a real
 * PostgreSQL server and on PGlite. The suite calls vitest's globals.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, test } from 'vitest';
import { AgentmemSaver } from '../../src/adapters/langgraph.js';
import { type AgentMemory, loadConfig } from '../../src/index.js';
import { Runtime } from '../../src/runtime/index.js';
import { type PgCluster, startCluster } from '../harness/postgres.js';

Object.assign(globalThis, { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, test });
const { validate } = await import('@langchain/langgraph-checkpoint-validation');

function saverSuite(name: string, open: () => Promise<{ root: AgentMemory; close: () => Promise<void> }>) {
  let opened: { root: AgentMemory; close: () => Promise<void> } | undefined;
  validate<AgentmemSaver>({
    checkpointerName: `AgentmemSaver (${name})`,
    beforeAllTimeout: 180_000,
    async beforeAll() {
      opened = await open();
    },
    async afterAll() {
      await opened?.close();
    },
    // Each set of validations on a tenant of its own: nothing of one is seen by the next.
    createCheckpointer: () =>
      new AgentmemSaver({ memory: (opened as { root: AgentMemory }).root.forTenant(`lg-${randomUUID().slice(0, 8)}`) }),
  });
}

let cluster: PgCluster | undefined;
saverSuite('PostgreSQL', async () => {
  cluster = await startCluster(1);
  const config = await loadConfig({
    cwd: mkdtempSync(join(tmpdir(), 'agentmem-lg-')),
    env: {},
    overrides: { providers: [{ name: 'pg', url: (cluster.servers[0] as NonNullable<PgCluster['servers'][0]>).url() }] },
  });
  const runtime = Runtime.fromConfig(config);
  const root = await runtime.memory({ migrate: true });
  return {
    root,
    close: async () => {
      await runtime.close();
      await cluster?.stop();
    },
  };
});

saverSuite('PGlite', async () => {
  const config = await loadConfig({
    cwd: mkdtempSync(join(tmpdir(), 'agentmem-lg-')),
    env: {},
    overrides: { embedded: { dataDir: join(mkdtempSync(join(tmpdir(), 'agentmem-lg-pglite-')), 'data') } },
  });
  const runtime = Runtime.fromConfig(config);
  const root = await runtime.memory({ migrate: true });
  return { root, close: () => runtime.close() };
});
