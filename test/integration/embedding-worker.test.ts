/**
 * Memories and messages are embedded off the write path, by the embedding
 * worker, on every kind of database: what waits is what it embeds (the
 * configured types and roles, once each), a failing embedder fails no write
 * and leaves a visible backlog that drains when it returns, and workers that
 * run at once — or one that dies holding a batch — embed nothing twice and
 * lose nothing.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { EmbeddingWorker } from '../../src/formation/embedding-worker.js';
import type { Embedder } from '../../src/index.js';
import { conditionsFrom, LocalHashEmbedder } from '../../src/ops/index.js';
import { type Backend, useBackends } from '../harness/backends.js';

const { backend, tenant } = useBackends('ew');
const local = new LocalHashEmbedder(384);

/** The local embedder, counting what it is asked to embed. */
function counting(): Embedder & { texts: string[] } {
  const texts: string[] = [];
  return {
    model: local.model,
    dimensions: local.dimensions,
    texts,
    embed: (batch) => {
      texts.push(...batch);
      return local.embed(batch);
    },
  };
}

function workerOn(b: Backend, embedder: Embedder, options: { leaseMs?: number; batchSize?: number } = {}): EmbeddingWorker {
  const recall = b.config.recall.embed;
  return new EmbeddingWorker(() => b.runtime.writer(), embedder, {
    schema: b.config.schema,
    types: recall.types,
    batchSize: options.batchSize ?? recall.batchSize,
    intervalMs: 50,
    leaseMs: options.leaseMs ?? recall.leaseMs,
  });
}

async function embeddingOf(
  b: Backend,
  tenantId: string,
  id: string,
): Promise<{ model: string | null; dim: number | null; version: string }> {
  const provider = await b.runtime.writer();
  const { rows } = await provider.query<{ embedding_model: string | null; embedding_dim: number | null; version: string }>(
    `SELECT embedding_model, embedding_dim, version::text FROM ${b.config.schema}.memories WHERE tenant_id = $1 AND id = $2`,
    [tenantId, id],
  );
  return { model: rows[0]?.embedding_model ?? null, dim: rows[0]?.embedding_dim ?? null, version: rows[0]?.version as string };
}

describe.each(['pg-vector', 'pg-novector', 'pglite'] as const)('embedding worker on %s', (name) => {
  it('embeds what waits — the configured types and roles, once each — with a new version and no history entry', async () => {
    const b = backend(name);
    const t = tenant();
    const m = await b.memory(t);
    const decision = await m.memories.remember({ type: 'decision', content: 'Ship the refund feature on Friday', userId: 'u1' });
    const log = await m.memories.remember({ type: 'log', content: 'cron ran', userId: 'u1' });
    const session = await m.sessions.create({ userId: 'u1' });
    const user = await m.sessions.addMessage(session.id, { role: 'user', content: [{ type: 'text', text: 'Where is my parcel?' }] });
    const tool = await m.sessions.addMessage(session.id, { role: 'tool', content: '{"status":"late"}', toolCallId: 'c1' });
    await m.items.put({ namespace: ['prefs'], key: 'tone', value: { tone: 'brief' } });
    const before = await embeddingOf(b, t, decision);
    const historyBefore = (await m.history.changes(decision)).length;

    const embedder = counting();
    const worker = workerOn(b, embedder);
    expect((await worker.status()).waiting).toBeGreaterThanOrEqual(2);
    await worker.drain();
    expect(await worker.status()).toMatchObject({ waiting: 0, failing: 0, oldestSeconds: null });
    expect(embedder.texts).toContain('Ship the refund feature on Friday');
    expect(embedder.texts).toContain('Where is my parcel?');
    expect(embedder.texts).not.toContain('cron ran');
    const after = await embeddingOf(b, t, decision);
    expect(after).toMatchObject({ model: local.model, dim: 384 });
    expect(BigInt(after.version)).toBeGreaterThan(BigInt(before.version));
    expect((await embeddingOf(b, t, user.id)).model).toBe(local.model);
    expect((await embeddingOf(b, t, log)).model).toBeNull();
    expect((await embeddingOf(b, t, tool.id)).model).toBeNull();
    expect((await m.history.changes(decision)).length).toBe(historyBefore);
    // Nothing waits, so a second pass embeds nothing again.
    const asked = embedder.texts.length;
    await worker.drain();
    expect(embedder.texts.length).toBe(asked);
  });

  it('a failing embedder fails no write; the backlog is visible, then drains when the embedder returns', async () => {
    const b = backend(name);
    const t = tenant();
    const m = await b.memory(t);
    const down: Embedder = {
      model: local.model,
      dimensions: 384,
      embed: () => Promise.reject(new Error('embedder unreachable: connect ECONNREFUSED')),
    };
    const broken = workerOn(b, down, { batchSize: 1000 });
    // Drain whatever other tests left waiting, so the count below is this test's.
    await workerOn(b, local, { batchSize: 1000 }).drain();
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push(await m.memories.remember({ type: 'issue', content: `printer ${i} jams` }));
    expect(await broken.runOnce()).toMatchObject({ claimed: 3, embedded: 0, failed: 3 });
    const failing = await broken.status();
    expect(failing).toMatchObject({ waiting: 3, failing: 3 });
    expect(failing.lastError).toMatch(/ECONNREFUSED/);
    // The monitor alerts on it once the oldest row has waited longer than recall.backlogAlertSeconds.
    const report = { checkedAt: new Date().toISOString(), state: 'healthy', reasons: [], providers: [] } as unknown as Parameters<
      typeof conditionsFrom
    >[0];
    const strict = { ...b.config, recall: { ...b.config.recall, backlogAlertSeconds: 1 } };
    expect(conditionsFrom(report, strict, undefined, { ...failing, oldestSeconds: 5 }).map((c) => [c.name, c.severity])).toEqual([
      ['embedding_backlog', 'warning'],
    ]);
    expect(conditionsFrom(report, b.config, undefined, failing)).toEqual([]);
    // Writes go on meanwhile.
    ids.push(await m.memories.remember({ type: 'issue', content: 'scanner jams' }));
    // The failed rows wait out their backoff (1 s after a first failure); the new one is taken at once.
    const healthy = workerOn(b, local, { batchSize: 1000 });
    expect(await healthy.runOnce()).toMatchObject({ embedded: 1 });
    await sleep(1100);
    await healthy.drain();
    expect(await healthy.status()).toMatchObject({ waiting: 0, failing: 0 });
    for (const id of ids) expect((await embeddingOf(b, t, id)).model).toBe(local.model);
  });

  it('workers at once embed each row once; a worker that dies holding a batch loses nothing', async () => {
    const b = backend(name);
    const t = tenant();
    const m = await b.memory(t);
    await workerOn(b, local, { batchSize: 1000 }).drain();
    const ids = [];
    for (let i = 0; i < 40; i++) ids.push(await m.memories.remember({ type: 'context', content: `fact number ${i} about the warehouse` }));
    // A worker that takes a batch and never comes back (its process killed while the embedder ran).
    const stuck = workerOn(
      b,
      { model: local.model, dimensions: 384, embed: () => new Promise(() => undefined) },
      { leaseMs: 800, batchSize: 10 },
    );
    void stuck.runOnce();
    await sleep(200);
    const [one, two] = [counting(), counting()];
    await Promise.all([workerOn(b, one, { batchSize: 7 }).drain(), workerOn(b, two, { batchSize: 7 }).drain()]);
    // The dead worker's ten are held by its lease; everything else is done, each row by one worker.
    expect(one.texts.length + two.texts.length).toBe(30);
    expect(new Set([...one.texts, ...two.texts]).size).toBe(30);
    await sleep(800);
    const late = counting();
    await workerOn(b, late).drain();
    expect(late.texts.length).toBe(10);
    for (const id of ids) expect((await embeddingOf(b, t, id)).model).toBe(local.model);
  });
});
