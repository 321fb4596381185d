/**
 * AgentmemSaver under a real LangGraph graph on two providers: a compiled
 * StateGraph stops at an interrupt, the writer is killed with SIGKILL, and the
 * graph resumes on the other provider without losing a step; the checkpoint
 * tables are compared by `sync verify` like every table; erasing the thread's
 * user erases its checkpoints.
 */
import { Annotation, Command, END, interrupt, START, StateGraph } from '@langchain/langgraph';
import { describe, expect, it } from 'vitest';
import { AgentmemSaver } from '../../src/adapters/langgraph.js';
import { eraseSubject, PgProvider, Replicator, runSync, verifyProviders } from '../../src/ops/index.js';
import { Runtime } from '../../src/runtime/index.js';
import { providerConfig } from '../harness/providers.js';
import { routedStore, useCluster } from '../harness/router-cluster.js';
import { waitFor } from '../harness/wait.js';

const cluster = useCluster(2, { migrate: true });

const State = Annotation.Root({
  steps: Annotation<string[]>({ reducer: (a, b) => [...a, ...b], default: () => [] }),
});

function compile(saver: AgentmemSaver) {
  return new StateGraph(State)
    .addNode('plan', () => ({ steps: ['plan'] }))
    .addNode('approve', () => {
      const answer = interrupt('approve the plan?') as string;
      return { steps: [`approved: ${answer}`] };
    })
    .addNode('act', () => ({ steps: ['act'] }))
    .addEdge(START, 'plan')
    .addEdge('plan', 'approve')
    .addEdge('approve', 'act')
    .addEdge('act', END)
    .compile({ checkpointer: saver });
}

describe('AgentmemSaver on two providers', () => {
  it('a graph interrupted on one provider resumes on the other after a SIGKILL, every step kept; sync verify equal; erased with its user', async () => {
    const { config, close } = await routedStore(cluster, { tenant: 'lg', replication: { enabled: true, ack: 'async', intervalMs: 100 } });
    await close();
    const runtime = Runtime.fromConfig(config);
    try {
      const memory = await runtime.memory({ tenant: 'lg' });
      const graph = compile(new AgentmemSaver({ memory, userId: 'kai' }));
      const thread = { configurable: { thread_id: 'trip-7' } };
      await graph.invoke({ steps: ['start'] }, thread);
      const paused = await graph.getState(thread);
      expect(paused.next).toEqual(['approve']);
      expect(paused.values.steps).toEqual(['start', 'plan']);

      // Replication has copied the checkpoints: both providers hold the same.
      const p1 = new PgProvider(providerConfig(cluster.server('p1')));
      const p2 = new PgProvider(providerConfig(cluster.server('p2')));
      try {
        await runSync([p1, p2], new Replicator({ schema: config.schema }));
        const report = await verifyProviders([p1, p2], config.schema);
        expect(report.equal).toBe(true);
        expect(JSON.stringify(report)).toContain('checkpoints');
      } finally {
        await Promise.all([p1.close(), p2.close()]);
      }

      await cluster.server('p1').kill();
      const router = await runtime.router();
      await waitFor(async () => {
        await memory.settings.set('probe', 'write', Date.now()).catch(() => undefined);
        return router.currentWriter === 'p2';
      }, 20_000);
      const done = await graph.invoke(new Command({ resume: 'yes' }), thread);
      expect(done.steps).toEqual(['start', 'plan', 'approved: yes', 'act']);
      const history = [];
      for await (const snapshot of graph.getStateHistory(thread)) history.push(snapshot);
      expect(history.length).toBeGreaterThanOrEqual(5);
    } finally {
      await runtime.close();
      await cluster.server('p1').start();
    }
    // Erasing the thread's user erases its checkpoints everywhere.
    const providers = Runtime.fromConfig(config);
    try {
      await runSync(await providers.allProviders(), providers.replicator);
      const { report } = await eraseSubject(config, providers.providers, { tenant: 'lg', userId: 'kai' });
      expect(report.verified).toBe(true);
      expect(Object.values(report.removed).some((counts) => counts.checkpoints > 0 && counts.checkpoint_blobs > 0)).toBe(true);
      const left = await (await providers.memory({ tenant: 'lg' })).checkpoints.list({ threadId: 'trip-7' });
      expect(left).toEqual([]);
    } finally {
      await providers.close();
    }
  });
});
