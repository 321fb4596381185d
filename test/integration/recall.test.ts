/**
 * Recall by meaning over memories and messages, on every kind of database:
 * one scope model (user → agent → session, inside the tenant), hybrid search
 * that finds by meaning what shares no word with the query, current facts
 * unless asked otherwise, a down embedder answered from full text, and bad
 * input refused before any SQL.
 */
import { describe, expect, it } from 'vitest';
import { EmbeddingWorker } from '../../src/formation/embedding-worker.js';
import { AgentMemory, type Embedder, ValidationError } from '../../src/index.js';
import { LocalHashEmbedder } from '../../src/ops/index.js';
import { embedAll, useBackends } from '../harness/backends.js';

const { backend, tenant } = useBackends('rc');
const DIM = 384;
const local = new LocalHashEmbedder(DIM);

/**
 * A scripted "semantic" embedder: texts about one topic point the same way
 * whatever their words (parcel ≈ delivery ≈ courier), everything else is the
 * local embedder's — what a real model does, without a model.
 */
const TOPICS: [RegExp, number][] = [
  [/parcel|delivery|courier|package|shipment/i, 5],
  [/vegetarian|vegan|meat|walnut|allerg/i, 50],
  [/paris|berlin|lives|moved|city/i, 100],
];
const topical: Embedder = {
  model: 'test-topics-1',
  dimensions: DIM,
  async embed(texts) {
    const base = await local.embed(texts);
    return texts.map((text, i) => {
      const topic = TOPICS.find(([pattern]) => pattern.test(text))?.[1];
      if (topic === undefined) return base[i] as number[];
      const v = (base[i] as number[]).map((x) => x * 0.3);
      v[topic] = (v[topic] ?? 0) + 1;
      const norm = Math.hypot(...v);
      return v.map((x) => x / norm);
    });
  },
};

const withEmbedder = (m: AgentMemory, embedder: Embedder) => new AgentMemory(m.storeContext.with({ embedder }), m.config, undefined);

describe.each(['pg-vector', 'pg-novector', 'pglite'] as const)('recall on %s', (name) => {
  it("finds what a user said by meaning, across that user's sessions, and nobody else's", async () => {
    const b = backend(name);
    const m = withEmbedder(await b.memory(tenant()), topical);
    const monday = await m.sessions.create({ userId: 'u1', agentId: 'support' });
    const friday = await m.sessions.create({ userId: 'u1', agentId: 'sales' });
    const other = await m.sessions.create({ userId: 'u2', agentId: 'support' });
    await m.sessions.addMessages(monday.id, [
      { role: 'user', content: 'Hi there' },
      { role: 'assistant', content: 'Hello, how can I help?' },
      { role: 'user', content: 'My parcel never arrived' },
      { role: 'assistant', content: 'Sorry to hear that, let me check.' },
    ]);
    await m.sessions.addMessages(friday.id, [{ role: 'user', content: 'Is the courier coming today?' }]);
    await m.sessions.addMessages(other.id, [{ role: 'user', content: 'Where is my shipment?' }]);
    await embedAll(b, topical);

    // "delivery" shares no word with either message; the vector leg finds both, the user's only.
    const hybrid = await m.sessions.searchMessages('late delivery', { scope: { userId: 'u1' }, k: 5, around: 1 });
    expect(hybrid.degraded).toBeUndefined();
    const top = hybrid.hits.slice(0, 2).map((h) => h.message.content);
    expect(top.sort()).toEqual(['Is the courier coming today?', 'My parcel never arrived']);
    expect(hybrid.hits.every((h) => h.message.sessionId !== other.id)).toBe(true);
    expect(hybrid.hits[0]?.vectorRank).toBe(1);
    const parcel = hybrid.hits.find((h) => h.message.content === 'My parcel never arrived');
    expect(parcel?.context?.map((c) => c.content)).toEqual([
      'Hello, how can I help?',
      'My parcel never arrived',
      'Sorry to hear that, let me check.',
    ]);
    expect(parcel?.message.seq).toBe(2);
    // Text alone finds only what shares words.
    const text = await m.sessions.searchMessages('parcel', { scope: { userId: 'u1' }, mode: 'text' });
    expect(text.hits.map((h) => [h.message.content, h.textRank])).toEqual([['My parcel never arrived', 1]]);
    // Narrower scopes: an agent's sessions, one session, a role.
    const support = await m.sessions.searchMessages('late delivery', { scope: { agentId: 'support' }, mode: 'vector', k: 2 });
    expect(support.hits.map((h) => h.message.content).sort()).toEqual(['My parcel never arrived', 'Where is my shipment?']);
    const friday1 = await m.sessions.searchMessages('delivery', { scope: { sessionId: friday.id }, mode: 'vector', k: 3 });
    expect(friday1.hits.map((h) => h.message.sessionId)).toEqual([friday.id]);
    const assistant = await m.sessions.searchMessages('check', { scope: { userId: 'u1' }, roles: ['assistant'], mode: 'text' });
    expect(assistant.hits.map((h) => h.message.role)).toEqual(['assistant']);
    // Another tenant's session: nothing, and nothing said about it.
    const stranger = withEmbedder(await b.memory(tenant()), topical);
    expect((await stranger.sessions.searchMessages('parcel', { scope: { sessionId: monday.id } })).hits).toEqual([]);

    // A long session with a forgotten message and a memory in it: the turns around a hit are the live
    // messages next to it in the transcript, numbered as the transcript numbers them.
    const long = await m.sessions.create({ userId: 'u3' });
    await m.sessions.addMessages(
      long.id,
      Array.from({ length: 30 }, (_, i) => ({
        role: i % 2 ? ('assistant' as const) : ('user' as const),
        content: i === 20 ? 'the turbine alarm rang' : i === 1 ? 'the turbine started' : `turn ${i}`,
      })),
    );
    const written = await m.sessions.getMessages(long.id);
    await m.memories.forget((written[19] as { id: string }).id);
    await m.memories.remember({ type: 'fact', content: 'the turbine is in hall 2', sessionId: long.id });
    const transcript = await m.sessions.getMessages(long.id);
    const found = await m.sessions.searchMessages('turbine', { scope: { sessionId: long.id }, mode: 'text', around: 2 });
    for (const hit of found.hits) {
      const at = transcript.findIndex((t) => t.id === hit.message.id);
      expect(hit.message.seq).toBe(at);
      expect(hit.context).toEqual(transcript.slice(Math.max(0, at - 2), at + 3));
    }
    expect(found.hits.map((h) => h.context?.length).sort()).toEqual([4, 5]);
  });

  it('answers the current fact of a supersession chain; superseded and past facts only when asked', async () => {
    const b = backend(name);
    const m = withEmbedder(await b.memory(tenant()), topical);
    const paris = await m.memories.remember({ type: 'context', content: 'The user lives in Paris', userId: 'u1' });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const between = new Date();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const berlin = await m.memories.remember({ type: 'context', content: 'The user moved to Berlin', userId: 'u1', supersedes: paris });
    await m.memories.remember({ type: 'decision', content: 'Offer free delivery to loyal customers', userId: 'u1' });
    await embedAll(b, topical);

    const now = await m.memories.search('which city is the user in', { scope: { userId: 'u1' }, k: 1 });
    expect(now.hits.map((h) => h.memory.id)).toEqual([berlin]);
    const all = await m.memories.search('which city is the user in', {
      scope: { userId: 'u1' },
      k: 2,
      includeSuperseded: true,
      mode: 'vector',
    });
    expect(all.hits.map((h) => h.memory.id).sort()).toEqual([paris, berlin].sort());
    const then = await m.memories.search('which city is the user in', { scope: { userId: 'u1' }, k: 1, asOf: between });
    expect(then.hits.map((h) => h.memory.id)).toEqual([paris]);
    const decisions = await m.memories.search('delivery', { scope: { userId: 'u1' }, types: ['decision'] });
    expect(decisions.hits.map((h) => h.memory.type)).toEqual(['decision']);
    // Scores order the hits; minScore keeps only what clears it.
    const strict = await m.memories.search('parcel courier', { scope: { userId: 'u1' }, mode: 'vector', minScore: 0.5 });
    expect(strict.hits.map((h) => h.memory.content)).toEqual(['Offer free delivery to loyal customers']);
  });

  it('answers from full text when the embedder is down, and says so', async () => {
    const b = backend(name);
    const good = withEmbedder(await b.memory(tenant()), topical);
    await good.memories.remember({ type: 'issue', content: 'The printer on floor 3 jams', userId: 'u9' });
    const down = withEmbedder(good, { model: topical.model, dimensions: DIM, embed: () => Promise.reject(new Error('ECONNREFUSED')) });
    for (const mode of ['hybrid', 'vector'] as const) {
      const result = await down.memories.search('printer jams', { scope: { userId: 'u9' }, mode });
      expect(result.degraded).toBe('embedder');
      expect(result.hits.map((h) => h.memory.content)).toEqual(['The printer on floor 3 jams']);
    }
  });

  it('inline mode: a write returns once embedded, so a search right after finds it by meaning; a down embedder still stores it', async () => {
    const b = backend(name);
    const base = await b.memory(tenant());
    const inline = (embedder: Embedder) =>
      new AgentMemory(base.storeContext.with({ embedder, recall: { ...b.config.recall.embed, mode: 'inline' } }), base.config, undefined);
    const m = inline(topical);
    const id = await m.memories.remember({ type: 'context', content: 'The user is vegetarian', userId: 'u5' });
    const session = await m.sessions.create({ userId: 'u5' });
    await m.sessions.addMessage(session.id, { role: 'user', content: 'No meat for me please' });
    const memories = await m.memories.search('dietary needs: avoid meat dishes', { scope: { userId: 'u5' }, mode: 'vector' });
    expect(memories.hits.map((h) => h.memory.id)).toEqual([id]);
    const messages = await m.sessions.searchMessages('vegan', { scope: { userId: 'u5' }, mode: 'vector' });
    expect(messages.hits.map((h) => h.message.content)).toEqual(['No meat for me please']);
    // Answered as stored (the HTTP API's and MCP's remember), and embedded by the same statement.
    const read = await m.memories.rememberAndRead({ type: 'context', content: 'The user cycles to work', userId: 'u5' });
    expect(read.memory?.content).toBe('The user cycles to work');
    const same = await m.memories.search('The user cycles to work', { scope: { userId: 'u5' }, mode: 'vector', k: 1 });
    expect(same.hits.map((h) => h.memory.id)).toEqual([read.id]);
    // The embedder down: the write is stored, the caller hears it is not embedded yet, and the worker embeds it later.
    const down = inline({ model: topical.model, dimensions: DIM, embed: () => Promise.reject(new Error('ECONNREFUSED')) });
    const error = await down.memories
      .remember({ type: 'context', content: 'The user is allergic to walnuts', userId: 'u5' })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'EMBEDDER_FAILED' });
    expect((error as Error).message).toMatch(/stored, not yet embedded/);
    const [walnuts] = (error as { details: { ids: string[] } }).details.ids;
    expect((await m.memories.get(walnuts as string))?.content).toBe('The user is allergic to walnuts');
    await embedAll(b, topical);
    const later = await m.memories.search('nut allergy', { scope: { userId: 'u5' }, mode: 'vector', k: 1 });
    expect(later.hits.map((h) => h.memory.id)).toEqual([walnuts]);
  });

  it('refuses to compare or mix vectors of two models: search and the worker name both and the fix', async () => {
    const b = backend(name);
    const m = withEmbedder(await b.memory(tenant()), topical);
    await m.memories.remember({ type: 'context', content: 'The user lives in Lyon', userId: 'u7' });
    await embedAll(b, topical);
    const other = withEmbedder(m, local);
    const error = await other.memories.search('city', { scope: { userId: 'u7' } }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'EMBEDDING_MISMATCH' });
    expect((error as Error).message).toContain(
      `embedded with test-topics-1 (${DIM} dimensions) but the configured embedder is ${local.model}`,
    );
    // Text search does not compare vectors: it still answers.
    expect((await other.memories.search('Lyon', { scope: { userId: 'u7' }, mode: 'text' })).hits).toHaveLength(1);
    await other.memories.remember({ type: 'context', content: 'The user works in Grenoble', userId: 'u7' });
    const recall = b.config.recall.embed;
    const worker = new EmbeddingWorker(() => b.runtime.writer(), local, { ...recall, schema: b.config.schema, intervalMs: 50 });
    await expect(worker.runOnce()).rejects.toMatchObject({ code: 'EMBEDDING_MISMATCH' });
    await embedAll(b, topical);
  });

  it('re-embeds with another model: resumable, searches answer from the old vectors until one transaction switches', async () => {
    const b = backend(name);
    const t = tenant();
    const words = withEmbedder(await b.memory(t), local);
    await words.memories.remember({ type: 'context', content: 'The parcel was left with the neighbour', userId: 'r1' });
    await words.memories.remember({ type: 'decision', content: 'Refund the late shipment', userId: 'r1' });
    // Other tests of this file left vectors of the topical model: this test's database is its own tenant, not its own table.
    await b.runtime.reembed(local);
    await embedAll(b, local);
    const before = await words.memories.search('delivery problem', { scope: { userId: 'r1' }, mode: 'vector' });
    expect(before.hits.length).toBeGreaterThan(0);

    // A first run fails half way (the new model's service went down after one batch).
    let calls = 0;
    const flaky: Embedder = {
      model: topical.model,
      dimensions: DIM,
      embed: (texts) => (++calls > 1 ? Promise.reject(new Error('ECONNRESET')) : topical.embed(texts)),
    };
    await expect(b.runtime.reembed(flaky, { batchSize: 1 })).rejects.toThrow(/ECONNRESET/);
    // Meanwhile searches answer from the old model's vectors, as before.
    expect((await words.memories.search('delivery problem', { scope: { userId: 'r1' }, mode: 'vector' })).hits.length).toBe(
      before.hits.length,
    );
    // The next run goes on where the first stopped, then switches.
    const asked: string[] = [];
    const counting: Embedder = {
      model: topical.model,
      dimensions: DIM,
      embed: (texts) => {
        asked.push(...texts);
        return topical.embed(texts);
      },
    };
    const report = await b.runtime.reembed(counting, { stageOnly: true });
    expect(report.alreadyStaged).toBeGreaterThanOrEqual(1);
    expect(asked.length).toBe(report.total - report.alreadyStaged);
    const done = await b.runtime.reembed(counting);
    expect(done).toMatchObject({ staged: 0, switched: report.total });
    // Now by meaning with the new model; the old one is refused, never compared.
    const meaning = withEmbedder(words, topical);
    const hits = await meaning.memories.search('delivery problem', { scope: { userId: 'r1' }, mode: 'vector', k: 2 });
    expect(hits.hits.map((h) => h.memory.content).sort()).toEqual(['Refund the late shipment', 'The parcel was left with the neighbour']);
    // A process still on the old model: its next look (a new store; a running one looks again within a minute) refuses.
    const stale = withEmbedder(await b.memory(t), local);
    await expect(stale.memories.search('delivery', { scope: { userId: 'r1' }, mode: 'vector' })).rejects.toMatchObject({
      code: 'EMBEDDING_MISMATCH',
    });
  });

  it('refuses bad input before any SQL: blank or long queries, k out of range, blank or malformed ids', async () => {
    const m = await backend(name).memory(tenant());
    const refusals: [string, () => Promise<unknown>][] = [
      ['blank query', () => m.memories.search('   ')],
      ['empty query', () => m.sessions.searchMessages('')],
      ['long query', () => m.memories.search('x'.repeat(2001))],
      ['k 0', () => m.memories.search('a', { k: 0 })],
      ['k 1001', () => m.sessions.searchMessages('a', { k: 1001 })],
      ['blank user', () => m.memories.search('a', { scope: { userId: ' ' } })],
      ['empty agent', () => m.sessions.searchMessages('a', { scope: { agentId: '' } })],
      ['session not a uuid', () => m.sessions.searchMessages('a', { scope: { sessionId: 'nope' } })],
      ['unknown option', () => m.memories.search('a', { user: 'u1' } as never)],
      ['NUL', () => m.memories.search('a\u0000b')],
    ];
    for (const [label, call] of refusals) await expect(call(), label).rejects.toBeInstanceOf(ValidationError);
  });
});
