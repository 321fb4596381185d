/**
 * Memory formation on two real servers: what it writes replicates like any
 * memory (the session's watermarks too, so the other provider does not
 * extract the same messages again after a failover), `sync verify` finds them
 * equal, and a process killed with SIGKILL mid-extraction leaves nothing
 * partial and nothing extracted twice.
 */
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { MockLanguageModelV3 } from 'ai/test';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/index.js';
import { PgProvider, Replicator, runSync, verifyProviders } from '../../src/ops/index.js';
import { Runtime } from '../../src/runtime/index.js';
import { providerConfig } from '../harness/providers.js';
import { routedStore, useCluster } from '../harness/router-cluster.js';

const cluster = useCluster(2, { migrate: true });
const usage = {
  inputTokens: { total: 10, noCache: 10, cacheRead: undefined, cacheWrite: undefined },
  outputTokens: { total: 5, text: 5, reasoning: undefined },
};
const answering = (value: unknown) =>
  new MockLanguageModelV3({
    modelId: 'scripted',
    doGenerate: async () => ({
      content: [{ type: 'text', text: JSON.stringify(value) }],
      finishReason: { unified: 'stop', raw: 'stop' },
      usage,
      warnings: [],
    }),
  });

describe('memory formation across providers', () => {
  it('replicates extracted memories, working memory and watermarks; sync verify finds the providers equal', async () => {
    const { config, close } = await routedStore(cluster, { tenant: 'fr' });
    await close();
    const runtime = Runtime.fromConfig(config);
    try {
      const model = answering({ decisions: [{ op: 'ADD', type: 'fact', content: 'Gus keeps bees' }] });
      const memory = await runtime.memory({ tenant: 'fr', model });
      const session = await memory.sessions.create({ userId: 'gus' });
      await memory.sessions.addMessages(session.id, [
        { role: 'user', content: 'I keep bees on my roof.' },
        { role: 'assistant', content: 'How lovely!' },
      ]);
      expect(await memory.extract(session.id)).toMatchObject({ status: 'extracted' });
      await memory.workingMemory.update({ userId: 'gus' }, { hobby: 'bees' });
      const p1 = new PgProvider(providerConfig(cluster.server('p1')));
      const p2 = new PgProvider(providerConfig(cluster.server('p2')));
      try {
        await runSync([p1, p2], new Replicator({ schema: config.schema }));
        expect((await verifyProviders([p1, p2], config.schema)).equal).toBe(true);
        const { rows } = await p2.query<{ extracted_position: string | null }>(
          `SELECT extracted_position::text FROM agentmem.sessions WHERE tenant_id = 'fr' AND id = $1`,
          [session.id],
        );
        // The position of the last message extracted, the same on both.
        const { rows: last } = await p2.query<{ position: string }>(
          `SELECT max(position)::text AS position FROM agentmem.memories WHERE tenant_id = 'fr' AND session_id = $1`,
          [session.id],
        );
        expect(rows[0]?.extracted_position).toBe(last[0]?.position);
      } finally {
        await Promise.all([p1.close(), p2.close()]);
      }
      // On the other provider alone, nothing is extracted again: the watermark came with the session.
      const p2Only = await loadConfig({ env: {}, overrides: { providers: [config.providers[1] as never] } });
      const other = Runtime.fromConfig(p2Only);
      try {
        const again = answering({ decisions: [{ op: 'ADD', type: 'fact', content: 'Gus keeps bees' }] });
        const onP2 = await other.memory({ tenant: 'fr', model: again });
        expect(await onP2.extract(session.id)).toMatchObject({ status: 'nothing' });
        expect(again.doGenerateCalls).toHaveLength(0);
        expect((await onP2.workingMemory.get({ userId: 'gus' })).content).toEqual({ hobby: 'bees' });
        expect((await onP2.memories.recall({ userId: 'gus', types: ['fact'] })).map((m) => m.content)).toEqual(['Gus keeps bees']);
      } finally {
        await other.close();
      }
    } finally {
      await runtime.close();
    }
  });

  it('a process killed with SIGKILL while its model answers: nothing partial; after its lease, one extraction', async () => {
    const { memory, config, close } = await routedStore(cluster, { tenant: 'fk' });
    let sessionId: string;
    try {
      const session = await memory.sessions.create({ userId: 'hal' });
      sessionId = session.id;
      await memory.sessions.addMessages(session.id, [
        { role: 'user', content: 'My name is Hal and I drive a tram.' },
        { role: 'assistant', content: 'Nice to meet you, Hal.' },
      ]);
    } finally {
      await close();
    }
    const leased = { ...config, formation: { ...config.formation, leaseMs: 1500 } };
    // A child process takes the session and waits on a model that never answers; it is killed there.
    const script = `
      import { MockLanguageModelV3 } from 'ai/test';
      import { Runtime } from ${JSON.stringify(new URL('../../src/runtime/index.ts', import.meta.url).pathname)};
      const runtime = Runtime.fromConfig(${JSON.stringify(leased)});
      const model = new MockLanguageModelV3({ doGenerate: () => { console.log('calling'); return new Promise(() => {}); } });
      const memory = await runtime.memory({ tenant: 'fk', model });
      await memory.extract(${JSON.stringify(sessionId)});
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
      cwd: new URL('../..', import.meta.url).pathname,
    });
    await new Promise<void>((resolve) => child.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('calling') && resolve()));
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));

    const runtime = Runtime.fromConfig(leased as never);
    try {
      const model = answering({ decisions: [{ op: 'ADD', type: 'fact', content: 'Hal drives a tram' }] });
      const store = await runtime.memory({ tenant: 'fk', model });
      // The killed process's lease holds the session; nothing of it was written.
      expect(await store.extract(sessionId)).toMatchObject({ status: 'busy' });
      expect(await store.memories.recall({ userId: 'hal', types: ['fact', 'preference'] })).toEqual([]);
      await sleep(1600);
      expect(await store.extract(sessionId)).toMatchObject({ status: 'extracted', messages: 2 });
      expect(await store.extract(sessionId)).toMatchObject({ status: 'nothing' });
      expect((await store.memories.recall({ userId: 'hal', types: ['fact', 'preference'] })).map((m) => m.content)).toEqual([
        'Hal drives a tram',
      ]);
      expect(model.doGenerateCalls).toHaveLength(1);
    } finally {
      await runtime.close();
    }
  });

  it('8 processes × 200 working-memory updates to one scope: all 1,600 applied, none lost', async () => {
    const routed = await routedStore(cluster, { tenant: 'fw' });
    await routed.close();
    // 1,600 keys take ~12,000 tokens: a budget with room for them.
    const config = { ...routed.config, workingMemory: { ...routed.config.workingMemory, budgetTokens: 100_000 } };
    const memory = routed.memory;
    const script = (writer: number) => `
      import { Runtime } from ${JSON.stringify(new URL('../../src/runtime/index.ts', import.meta.url).pathname)};
      const runtime = Runtime.fromConfig(${JSON.stringify(config)});
      const memory = await runtime.memory({ tenant: 'fw' });
      for (let i = 0; i < 200; i++) await memory.workingMemory.update({ userId: 'jo' }, { w${writer}: { ['n' + i]: i } });
      await runtime.close();
    `;
    const exits = await Promise.all(
      Array.from({ length: 8 }, (_, writer) => {
        const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script(writer)], {
          stdio: ['ignore', 'inherit', 'inherit'],
          cwd: new URL('../..', import.meta.url).pathname,
        });
        return new Promise<number | null>((resolve) => child.once('exit', resolve));
      }),
    );
    expect(exits).toEqual(Array(8).fill(0));
    const runtime = Runtime.fromConfig(config);
    try {
      const store = await runtime.memory({ tenant: memory.tenant });
      const doc = (await store.workingMemory.get({ userId: 'jo' })).content as Record<string, Record<string, number>>;
      expect(Object.values(doc).reduce((sum, w) => sum + Object.keys(w).length, 0)).toBe(1600);
      // Every update is a change in the history.
      const history = await store.history.changes((await store.memories.recall({ userId: 'jo', types: ['working_memory'] }))[0]?.id ?? '', {
        limit: 2000,
      });
      expect(history).toHaveLength(1600);
    } finally {
      await runtime.close();
    }
  });
});
