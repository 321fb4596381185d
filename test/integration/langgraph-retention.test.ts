/**
 * Checkpoint retention under a long-running LangGraph graph, on a native
 * server and on PGlite: the newest checkpoints of each thread (and the parents
 * they need) are kept, the graph goes on from where it was, and the checkpoint
 * tables stay bounded however many steps run once tombstones are purged.
 */
import { Annotation, END, START, StateGraph } from '@langchain/langgraph';
import { describe, expect, it } from 'vitest';
import { AgentmemSaver } from '../../src/adapters/langgraph.js';
import type { AgentMemory } from '../../src/index.js';
import { purgeTombstones, runRetention } from '../../src/ops/index.js';
import { useBackends } from '../harness/backends.js';

const { backend, tenant } = useBackends('lgr');

const State = Annotation.Root({
  count: Annotation<number>({ reducer: (a, b) => a + b, default: () => 0 }),
  log: Annotation<string[]>({ reducer: (a, b) => [...a, ...b].slice(-3), default: () => [] }),
});
const graphOn = (saver: AgentmemSaver) =>
  new StateGraph(State)
    .addNode('step', (s: typeof State.State) => ({ count: 1, log: [`step ${s.count + 1}`] }))
    .addEdge(START, 'step')
    .addEdge('step', END)
    .compile({ checkpointer: saver });

async function rows(memory: AgentMemory, name: string): Promise<number> {
  const { rows } = await memory.storeContext.read('test', (tx) =>
    tx.query<{ n: number }>(`SELECT count(*)::int AS n FROM agentmem.${name} WHERE tenant_id = $1`, [memory.tenant]),
  );
  return Number(rows[0]?.n);
}

describe.each(['pg-vector', 'pglite'] as const)('checkpoint retention on %s', (name) => {
  it('keeps the newest per thread and what they need; the graph goes on; the tables stay bounded', async () => {
    const b = backend(name);
    const memory = (await b.memory(tenant())) as AgentMemory;
    const graph = graphOn(new AgentmemSaver({ memory }));
    const thread = { configurable: { thread_id: 'long-run' } };
    const config = { ...b.config, retention: { ...b.config.retention, checkpoints: { keepLatest: 4 } } };
    const sizes: number[] = [];
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < 15; i++) await graph.invoke({}, thread);
      const report = await runRetention(config, b.runtime.providers, memory, { tenant: memory.tenant });
      expect(report.totals.checkpoints).toBeGreaterThan(0);
      await purgeTombstones(await b.runtime.allProviders(), 'agentmem', { olderThanMs: 0 });
      sizes.push(
        (await rows(memory, 'checkpoints')) + (await rows(memory, 'checkpoint_blobs')) + (await rows(memory, 'checkpoint_writes')),
      );
    }
    // 60 runs, and each round leaves as many rows as the one before.
    expect(new Set(sizes).size).toBe(1);
    // The state came through every prune: the count is every run's.
    const state = await graph.getState(thread);
    expect(state.values.count).toBe(60);
    expect(state.values.log).toEqual(['step 58', 'step 59', 'step 60']);
    const kept = await memory.checkpoints.list({ threadId: 'long-run' });
    // The newest four, and the parent of the oldest of them.
    expect(kept).toHaveLength(5);
    expect(kept[0]?.checkpointId).toBe(state.config.configurable?.checkpoint_id);
    // A dry run with nothing more to remove removes nothing.
    expect((await memory.checkpoints.prune({ keepLatest: 4, dryRun: true })).checkpoints).toBe(0);
    // keepLatest 1 still keeps the newest and its parent; the graph runs on.
    await memory.checkpoints.prune({ keepLatest: 1 });
    expect(await memory.checkpoints.list({ threadId: 'long-run' })).toHaveLength(2);
    expect((await graph.invoke({}, thread)).count).toBe(61);
  });
});
