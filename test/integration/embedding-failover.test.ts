/**
 * The embedding backlog on real servers under faults: a failover mid-backlog
 * (the backlog goes on on the new writer), and a worker process killed with
 * SIGKILL mid-batch (nothing lost, nothing embedded twice).
 */
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { EmbeddingWorker } from '../../src/formation/embedding-worker.js';
import { PgProvider, Replicator, runSync } from '../../src/ops/index.js';
import { Runtime } from '../../src/runtime/index.js';
import { providerConfig } from '../harness/providers.js';
import { routedStore, useCluster } from '../harness/router-cluster.js';
import { waitFor } from '../harness/wait.js';

const cluster = useCluster(2, { migrate: true });

/** Rows of `tenant` with an embedding on one server, and the versions of their embeddings. */
async function embeddedOn(name: 'p1' | 'p2', tenant: string): Promise<number> {
  const provider = new PgProvider(providerConfig(cluster.server(name)));
  try {
    const { rows } = await provider.query<{ n: string }>(
      'SELECT count(*)::text AS n FROM agentmem.memories WHERE tenant_id = $1 AND embedding IS NOT NULL',
      [tenant],
    );
    return Number(rows[0]?.n);
  } finally {
    await provider.close();
  }
}

describe('embedding backlog under faults', () => {
  it('a failover mid-backlog: the worker goes on on the new writer, and nothing written before is lost', async () => {
    const { config, close } = await routedStore(cluster, { tenant: 'ef' });
    await close();
    const runtime = Runtime.fromConfig(config);
    try {
      const memory = await runtime.memory({ tenant: 'ef' });
      for (let i = 0; i < 30; i++) await memory.memories.remember({ type: 'decision', content: `decision ${i} about the pumps` });
      const worker = runtime.embeddingWorker();
      // Part of the backlog is embedded on p1; everything written so far reaches p2.
      await new EmbeddingWorker(() => runtime.writer(), runtime.configuredEmbedder(), {
        ...config.recall.embed,
        schema: config.schema,
        batchSize: 10,
      }).runOnce();
      const p1 = new PgProvider(providerConfig(cluster.server('p1')));
      const p2 = new PgProvider(providerConfig(cluster.server('p2')));
      await runSync([p1, p2], new Replicator({ schema: config.schema }));
      await Promise.all([p1.close(), p2.close()]);
      expect(await embeddedOn('p2', 'ef')).toBe(10);

      await cluster.server('p1').kill();
      // Writes fail over to p2; the next worker pass takes the rest of the backlog there.
      await waitFor(async () => {
        await memory.memories.remember({ type: 'decision', content: `after the failover ${Date.now()}` }).catch(() => undefined);
        return (await runtime.router()).currentWriter === 'p2';
      }, 20_000);
      await worker.drain();
      const status = await worker.status();
      expect(status).toMatchObject({ waiting: 0, failing: 0 });
      expect(await embeddedOn('p2', 'ef')).toBeGreaterThanOrEqual(31);
    } finally {
      await runtime.close();
      await cluster.server('p1').start();
    }
  });

  it('a worker process killed with SIGKILL mid-batch: its rows come back after the lease; each is embedded once', async () => {
    const { memory, config, close } = await routedStore(cluster, { tenant: 'ek' });
    try {
      for (let i = 0; i < 20; i++) await memory.memories.remember({ type: 'issue', content: `issue ${i} with the conveyor` });
    } finally {
      await close();
    }
    // A child process claims a batch with a slow embedder, and is killed while it embeds.
    const script = `
      import { EmbeddingWorker } from ${JSON.stringify(new URL('../../src/formation/embedding-worker.ts', import.meta.url).pathname)};
      import { PgProvider } from ${JSON.stringify(new URL('../../src/providers/index.ts', import.meta.url).pathname)};
      const provider = new PgProvider(${JSON.stringify(config.providers[0])});
      const slow = { model: 'agentmem-local-hash-v1', dimensions: ${config.embedder.dimensions}, embed: () => { console.log('embedding'); return new Promise(() => {}); } };
      await new EmbeddingWorker(async () => provider, slow, { schema: 'agentmem', types: ['issue'], batchSize: 8, intervalMs: 50, leaseMs: 1500 }).runOnce();
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve) => child.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('embedding') && resolve()));
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));

    const runtime = Runtime.fromConfig(config);
    try {
      const texts: string[] = [];
      const local = runtime.configuredEmbedder();
      const counting = {
        model: local.model,
        dimensions: local.dimensions,
        embed: (batch: string[]) => {
          texts.push(...batch);
          return local.embed(batch);
        },
      };
      const worker = new EmbeddingWorker(() => runtime.writer(), counting, {
        ...config.recall.embed,
        schema: config.schema,
        types: ['issue'],
      });
      await worker.drain();
      // The killed worker's eight are still held by its lease; the other twelve are done.
      expect(texts.length).toBe(12);
      await sleep(1600);
      await worker.drain();
      expect(texts.length).toBe(20);
      expect(new Set(texts).size).toBe(20);
      expect(await embeddedOn('p1', 'ek')).toBe(20);
    } finally {
      await runtime.close();
    }
  });
});
