/**
 * A user's search as their history grows, on every kind of database: rows
 * embedded once the user has many join the HNSW graph and are found by
 * walking it, the rows embedded before are still ranked exactly beside them,
 * rows of the user's sessions that have no user of their own stay in scope,
 * and full text ranks a window of the newest matches while rare words are
 * found however old.
 */
import { describe, expect, it } from 'vitest';
import { AgentMemory } from '../../src/index.js';
import { GRAPH_AFTER_ROWS } from '../../src/memory/recall/embedding-store.js';
import { LocalHashEmbedder } from '../../src/ops/index.js';
import { embedAll, useBackends } from '../harness/backends.js';

const { backend, tenant } = useBackends('lh');

describe.each(['pg-vector', 'pg-novector', 'pglite'] as const)('a long history on %s', (name) => {
  it('ranks the graph and the rows before it as one, keeps sessionless rows in scope, and windows common words', async () => {
    const b = backend(name);
    const t = tenant();
    const m = await b.memory(t);
    // Before the user has many rows: these stay outside the graph.
    const walnut = await m.memories.remember({ type: 'fact', content: 'The user is allergic to walnuts', userId: 'big' });
    const anonymous = await m.sessions.create({});
    await m.sessions.addMessages(anonymous.id, [{ role: 'user', content: 'Please send the invoice to my accountant' }]);
    await m.sessions.create({ id: anonymous.id, userId: 'big' });
    await embedAll(b, new LocalHashEmbedder(b.config.embedder.dimensions));
    // The user passes the threshold; what is embedded from then on joins the graph.
    const chat = await m.sessions.create({ userId: 'big' });
    const filler = Array.from({ length: GRAPH_AFTER_ROWS }, (_, i) => ({ role: 'user' as const, content: `Weather note ${i}` }));
    await m.sessions.addMessages(chat.id, filler);
    const refunds: string[] = [];
    for (let day = 0; day < 30; day++)
      refunds.push(await m.memories.remember({ type: 'decision', content: `Decided to handle the refund on day ${day}`, userId: 'big' }));
    await m.memories.remember({ type: 'fact', content: 'Someone else is allergic to walnuts', userId: 'other' });
    await embedAll(b, new LocalHashEmbedder(b.config.embedder.dimensions));

    const provider = await b.runtime.writer();
    const flags = await provider.query<{ id: string; embedding_graph: boolean | null }>(
      `SELECT id::text, embedding_graph FROM ${b.config.schema}.memories WHERE tenant_id = $1 AND id = ANY($2::uuid[])`,
      [t, [walnut, ...refunds]],
    );
    const inGraph = new Map(flags.rows.map((r) => [r.id, r.embedding_graph === true]));
    expect(inGraph.get(walnut)).toBe(false);
    expect(refunds.every((id) => inGraph.get(id))).toBe(true);

    // The vector half: the user's ranking is the tenant-wide exact ranking of the user's rows. The user's first
    // search ranks every row exactly and counts the history; the next walks the graph beside the rows outside it.
    for (const pass of ['exact', 'graph']) {
      const scoped = await m.memories.search('allergic to walnuts', { scope: { userId: 'big' }, mode: 'vector', k: 5 });
      expect(scoped.hits[0]?.memory.id, pass).toBe(walnut);
      expect(scoped.hits.some((h) => h.memory.userId === 'other')).toBe(false);
      const refund = await m.memories.search('handle the refund on day 7', { scope: { userId: 'big' }, mode: 'vector', k: 10 });
      const exact = (await m.memories.search('handle the refund on day 7', { mode: 'vector', k: 20 })).hits.filter(
        (h) => h.memory.userId === 'big',
      );
      expect(refund.hits[0]?.memory.id, pass).toBe(exact[0]?.memory.id);
      const overlap = refund.hits.filter((h) => exact.slice(0, 10).some((e) => e.memory.id === h.memory.id)).length;
      expect(overlap, pass).toBeGreaterThanOrEqual(8);
    }

    // A message of a session that was given its user later is the user's.
    const sessionless = await m.sessions.searchMessages('invoice for the accountant', { scope: { userId: 'big' }, k: 3 });
    expect(sessionless.hits[0]?.message.content).toBe('Please send the invoice to my accountant');

    // Full text: a rare word is found however old; in a long history, common words rank the newest window of
    // their matches (from the user's second search on).
    const rare = await m.memories.search('walnuts', { scope: { userId: 'big' }, mode: 'text', k: 3 });
    expect(rare.hits.map((h) => h.memory.id)).toEqual([walnut]);
    const narrow = new AgentMemory(m.storeContext.with({ search: { ...b.config.search, textWindow: 5 } }), m.config, undefined);
    await narrow.memories.search('refund', { scope: { userId: 'big' }, mode: 'text', k: 10 });
    const windowed = await narrow.memories.search('refund', { scope: { userId: 'big' }, mode: 'text', k: 10 });
    const whole = await m.memories.search('refund', { scope: { userId: 'big' }, mode: 'text', k: 30 });
    expect(whole.hits).toHaveLength(30);
    // The five newest (rows written in the same millisecond are equally new).
    const times = whole.hits.map((h) => new Date(h.memory.createdAt).getTime()).sort((x, y) => y - x);
    expect(windowed.hits).toHaveLength(5);
    expect(windowed.hits.every((h) => new Date(h.memory.createdAt).getTime() >= (times[4] as number))).toBe(true);
  });
});
