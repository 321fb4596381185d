import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sharedColumns, type TableName, table } from '../../src/core/tables.js';
import { tenantBucket } from '../../src/core/tenant-bucket.js';
import { AgentMemory, type AgentmemConfig, EmbeddingMismatchError, NotFoundError, ValidationError } from '../../src/index.js';
import { VECTOR_INDEXES_LIKE } from '../../src/memory/atoms/rows.js';
import { Settings } from '../../src/memory/index.js';
import { efSearchFor } from '../../src/memory/search/vector-index.js';
import { queryDuration } from '../../src/observability/metrics.js';
import { type Executor, importAtoms, LocalHashEmbedder } from '../../src/ops/index.js';
import { useBackends } from '../harness/backends.js';

const { backend, tenant } = useBackends();
const names = ['pg-vector', 'pg-novector', 'pglite'] as const;

/** The same tenant's memory with other search settings (merged over its own), and another embedder if given. */
function withSearch(
  memory: AgentMemory,
  config: AgentmemConfig,
  search: Partial<AgentMemory['storeContext']['search']>,
  embedder?: AgentMemory['storeContext']['embedder'],
): AgentMemory {
  return new AgentMemory(
    memory.storeContext.with({ ...(embedder ? { embedder } : {}), search: { ...memory.storeContext.search, ...search } }),
    config,
    undefined,
  );
}

/** How many rows of a tenant a table holds, tombstones included (to prove "nothing was written"). */
async function rowCount(memory: AgentMemory, table: 'sessions' | 'memories' | 'knowledge_atoms' | 'settings'): Promise<number> {
  return memory.storeContext.read('test.count', async (tx) => {
    const { rows } = await tx.query<{ n: string }>(`SELECT count(*) AS n FROM ${memory.storeContext.table(table)} WHERE tenant_id = $1`, [
      memory.tenant,
    ]);
    return Number(rows[0]?.n);
  });
}

/** The definitions of the indexes in the memory's schema whose names are LIKE `pattern`, in name order. */
async function indexDefinitions(memory: AgentMemory, pattern: string): Promise<string[]> {
  return memory.storeContext.read('test.indexes', async (tx) => {
    const { rows } = await tx.query<{ indexdef: string }>(
      'SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND indexname LIKE $2 ORDER BY indexname',
      [memory.storeContext.schema, pattern],
    );
    return rows.map((r) => r.indexdef);
  });
}

describe.each(names)('memory API on %s', (name) => {
  it('creates, lists with filters, ends and deletes sessions', async () => {
    const m = await backend(name).memory(tenant());
    const a = await m.sessions.create({ agentId: 'agent-a', userId: 'alice', title: 'first', startedAt: new Date('2026-01-01T10:00:00Z') });
    const b = await m.sessions.create({ agentId: 'agent-b', userId: 'alice', startedAt: new Date('2026-01-02T10:00:00Z') });
    const c = await m.sessions.create({ agentId: 'agent-a', userId: 'bob', startedAt: new Date('2026-01-03T10:00:00Z') });
    expect((await m.sessions.list()).map((s) => s.id)).toEqual([c.id, b.id, a.id]);
    expect((await m.sessions.list({ agentId: 'agent-a' })).map((s) => s.id)).toEqual([c.id, a.id]);
    expect((await m.sessions.list({ userId: 'alice' })).map((s) => s.id)).toEqual([b.id, a.id]);
    expect((await m.sessions.list({ since: '2026-01-02T00:00:00Z', until: new Date('2026-01-03T00:00:00Z') })).map((s) => s.id)).toEqual([
      b.id,
    ]);
    expect((await m.sessions.list({ limit: 1 })).map((s) => s.id)).toEqual([c.id]);
    const ended = await m.sessions.end(b.id, new Date('2026-01-02T11:00:00Z'));
    expect(ended.endedAt).toEqual(new Date('2026-01-02T11:00:00Z'));
    expect((await m.sessions.list({ active: true })).map((s) => s.id)).toEqual([c.id, a.id]);
    await m.sessions.addMessage(c.id, { role: 'user', content: 'hello' });
    await m.memories.remember({ type: 'decision', content: { x: 1 }, sessionId: c.id });
    expect(await m.sessions.delete(c.id)).toBe(true);
    expect(await m.sessions.get(c.id)).toBeNull();
    expect(await m.memories.recall({ sessionId: c.id })).toEqual([]);
    expect(await m.sessions.delete(c.id)).toBe(false);
    await expect(m.sessions.addMessage(c.id, { role: 'user', content: 'too late' })).rejects.toBeInstanceOf(NotFoundError);
    expect(await m.sessions.get(a.id)).toMatchObject({ id: a.id, agentId: 'agent-a', userId: 'alice', title: 'first', endedAt: null });
  });

  it('round-trips a transcript exactly: ids, order, timestamps, content and metadata', async () => {
    const m = await backend(name).memory(tenant());
    const id = randomUUID();
    const base = Date.parse('2026-03-04T05:06:07.089Z');
    const messages = [
      { id: randomUUID(), role: 'system' as const, content: 'Be brief.', metadata: {}, createdAt: new Date(base) },
      {
        id: randomUUID(),
        role: 'user' as const,
        content: 'Grüße 👋 — 你好 "quoted" \\ back\\slash\n\ttabs',
        metadata: { lang: 'de', n: 1.5, nested: { list: [1, 'two', null, true] } },
        createdAt: new Date(base + 1),
      },
      {
        id: randomUUID(),
        role: 'assistant' as const,
        content: "'; DROP TABLE agentmem.memories; --",
        metadata: { tool: null },
        createdAt: new Date(base + 1),
      },
      { id: randomUUID(), role: 'user' as const, content: '', metadata: { empty: '' }, createdAt: new Date(base + 2) },
    ];
    const result = await m.sessions.save({
      session: { id, agentId: 'agent', userId: 'user', title: 'round trip', metadata: { k: 'v' } },
      messages,
    });
    expect(result).toMatchObject({ inserted: 4, existing: 0 });
    const loaded = await m.sessions.load(id);
    expect(loaded?.session).toMatchObject({ id, agentId: 'agent', userId: 'user', title: 'round trip', metadata: { k: 'v' } });
    expect(loaded?.messages).toEqual(messages.map((msg, seq) => ({ ...msg, sessionId: id, seq })));
  });

  it('re-saving a session never duplicates messages; a retried addMessage is the same message', async () => {
    const m = await backend(name).memory(tenant());
    const session = await m.sessions.create({ agentId: 'agent' });
    const first = [
      { id: randomUUID(), role: 'user' as const, content: 'one' },
      { id: randomUUID(), role: 'assistant' as const, content: 'two' },
    ];
    await m.sessions.save({ session: { id: session.id }, messages: first });
    // The replaced system re-appended the whole transcript on every save; we must not.
    const again = await m.sessions.save({
      session: { id: session.id },
      messages: [...first, { id: randomUUID(), role: 'user', content: 'three' }],
    });
    expect(again).toMatchObject({ inserted: 1, existing: 2 });
    const third = await m.sessions.save({ session: { id: session.id }, messages: [...first] });
    expect(third).toMatchObject({ inserted: 0, existing: 2 });
    const retryId = randomUUID();
    const a = await m.sessions.addMessage(session.id, { id: retryId, role: 'user', content: 'four' });
    const b = await m.sessions.addMessage(session.id, { id: retryId, role: 'user', content: 'four' });
    expect(b).toEqual(a);
    const all = await m.sessions.getMessages(session.id);
    expect(a).toStrictEqual(all[3]);
    expect(all.map((x) => x.content)).toEqual(['one', 'two', 'three', 'four']);
    expect(all.map((x) => x.seq)).toEqual([0, 1, 2, 3]);
    expect(await rowCount(m, 'memories')).toBe(4);
    // Saving an unchanged session row leaves its version alone.
    const version = async () =>
      m.storeContext.read(
        'v',
        async (tx) =>
          (await tx.query<{ version: string }>(`SELECT version FROM ${m.storeContext.table('sessions')} WHERE id = $1`, [session.id]))
            .rows[0]?.version,
      );
    const before = await version();
    await m.sessions.save({ session: { id: session.id }, messages: [] });
    expect(await version()).toBe(before);
    // A new message comes back as it was sent, a retry as it was stored: both as a read returns it.
    const rich = {
      role: 'assistant' as const,
      name: 'planner',
      externalId: 'turn-5',
      content: [{ type: 'text', text: 'calling', z: 1, a: [1.5, null] }],
      metadata: { zeta: 1, alpha: { nested: true } },
      toolCalls: [{ id: 'call_1', name: 'lookup', arguments: { q: 'pump' } }],
      extra: { openai: { refusal: null } },
    };
    const sent = await m.sessions.addMessage(session.id, rich);
    const retried = await m.sessions.addMessage(session.id, { ...rich, createdAt: new Date(0) });
    const read = (await m.sessions.getMessages(session.id)).at(-1);
    expect(sent).toStrictEqual(read);
    expect(retried).toStrictEqual(read);
    expect(read).toMatchObject({ seq: 4, createdAt: sent.createdAt });
  });

  it('concurrent appends to one session get distinct, gap-free positions', async () => {
    const m = await backend(name).memory(tenant());
    const s = await m.sessions.create({});
    const added = await Promise.all(
      Array.from({ length: 20 }, (_, i) => m.sessions.addMessage(s.id, { role: 'user', content: `message ${i}` })),
    );
    expect(added.map((a) => a.seq).sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    const saved = await m.sessions.save({ session: { id: s.id }, messages: [{ role: 'assistant', content: 'after the burst' }] });
    expect(saved.inserted).toBe(1);
    expect((await m.sessions.addMessage(s.id, { role: 'user', content: 'last' })).seq).toBe(21);
  });

  it('addMessage with an id already taken: a removed message comes back as the newest, another session keeps its own', async () => {
    const m = await backend(name).memory(tenant());
    const s = await m.sessions.create({});
    const first = await m.sessions.addMessage(s.id, { role: 'user', content: 'one' });
    await m.sessions.addMessage(s.id, { role: 'assistant', content: 'two' });
    expect(await m.sessions.clearMessages(s.id)).toBe(2);
    await m.sessions.addMessage(s.id, { role: 'user', content: 'three' });
    // The removed message, sent again (changed): it comes back, after 'three'.
    const back = await m.sessions.addMessage(s.id, { id: first.id, role: 'user', content: 'one again' });
    expect(back).toMatchObject({ id: first.id, content: 'one again', seq: 1 });
    const messages = await m.sessions.getMessages(s.id);
    expect(messages.map((x) => [x.content, x.seq])).toEqual([
      ['three', 0],
      ['one again', 1],
    ]);
    expect(back).toStrictEqual(messages[1]);
    // The same id in another session: refused, and neither session changes.
    const other = await m.sessions.create({});
    await expect(m.sessions.addMessage(other.id, { id: first.id, role: 'user', content: 'stolen' })).rejects.toBeInstanceOf(NotFoundError);
    expect(await m.sessions.getMessages(other.id)).toEqual([]);
    expect(await m.sessions.getMessages(s.id)).toEqual(messages);
    await expect(m.sessions.addMessage(randomUUID(), { role: 'user', content: 'nowhere' })).rejects.toBeInstanceOf(NotFoundError);
  });

  it('pages messages by limit, before and role; builds a context window; exports OpenAI and LangChain', async () => {
    const m = await backend(name).memory(tenant());
    const s = await m.sessions.create({});
    const t0 = Date.parse('2026-05-01T00:00:00Z');
    await m.sessions.addMessage(s.id, { role: 'system', content: 'You are a helpful agent.', createdAt: new Date(t0) });
    for (let i = 1; i <= 6; i++) {
      await m.sessions.addMessage(s.id, {
        role: i % 2 ? 'user' : 'assistant',
        content: `turn ${i} ${'x'.repeat(40)}`,
        createdAt: new Date(t0 + i * 1000),
      });
    }
    expect((await m.sessions.getMessages(s.id, { limit: 2 })).map((x) => x.seq)).toEqual([5, 6]);
    expect((await m.sessions.getMessages(s.id, { limit: 2, before: new Date(t0 + 4000) })).map((x) => x.seq)).toEqual([2, 3]);
    expect((await m.sessions.getMessages(s.id, { role: 'assistant' })).map((x) => x.seq)).toEqual([2, 4, 6]);
    const window = await m.sessions.contextWindow(s.id, 50);
    expect(window.map((x) => x.seq)).toEqual([0, 5, 6]);
    const counted = await m.sessions.contextWindow(s.id, 3, { tokenCounter: () => 1 });
    expect(counted.map((x) => x.seq)).toEqual([0, 5, 6]);
    const openai = (await m.sessions.export(s.id, 'openai')) as { role: string; content: string }[];
    expect(openai[0]).toEqual({ role: 'system', content: 'You are a helpful agent.' });
    expect(openai).toHaveLength(7);
    // LangChain's stored-message form (what mapStoredMessagesToChatMessages reads).
    const langchain = (await m.sessions.export(s.id, 'langchain')) as { type: string; data: { content: string; id: string } }[];
    expect(langchain.map((x) => x.type)).toEqual(['system', 'human', 'ai', 'human', 'ai', 'human', 'ai']);
    expect(langchain[0]?.data).toEqual({ content: 'You are a helpful agent.', id: window[0]?.id });
    await expect(m.sessions.export(randomUUID(), 'openai')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('recalls typed memories with every filter applied before the LIMIT', async () => {
    const m = await backend(name).memory(tenant());
    const s = await m.sessions.create({ userId: 'carol' });
    const old = new Date('2026-01-01T00:00:00Z');
    const decisions = [];
    for (let i = 0; i < 3; i++) {
      decisions.push(
        await m.memories.remember({
          type: 'decision',
          content: { decision: `old decision ${i} about pumps` },
          createdAt: new Date(old.getTime() + i),
          sessionId: s.id,
        }),
      );
    }
    // 40 newer memories of another type: a LIMIT before the type filter would return no decisions.
    for (let i = 0; i < 40; i++) await m.memories.remember({ type: 'log', content: { line: `log ${i}` }, userId: 'dave' });
    const found = await m.memories.recall({ types: ['decision'], limit: 3 });
    expect(found.map((f) => f.id).sort()).toEqual([...decisions].sort());
    expect(found.every((f) => f.userId === 'carol')).toBe(true); // inherited from the session
    expect((await m.memories.recall({ userId: 'carol', limit: 5 })).length).toBe(3);
    expect((await m.memories.recall({ sessionId: s.id, limit: 2 })).map((f) => f.id)).toEqual([decisions[2], decisions[1]]);
    expect((await m.memories.recall({ text: 'pumps', limit: 10 })).length).toBe(3);
    expect((await m.memories.recall({ text: 'pumps', types: ['log'] })).length).toBe(0);
    expect((await m.memories.recall({ since: '2026-06-01T00:00:00Z', limit: 100 })).length).toBe(40);
    expect((await m.memories.recall({ types: ['log', 'decision'], limit: 100 })).length).toBe(43);
    const one = await m.memories.get(decisions[0] as string);
    expect(one).toMatchObject({ type: 'decision', content: { decision: 'old decision 0 about pumps' }, importance: 0.5, createdAt: old });
    // Idempotent on id.
    const id = randomUUID();
    await m.memories.remember({ id, type: 'action', content: 'ran once' });
    await m.memories.remember({ id, type: 'action', content: 'ran once' });
    expect((await m.memories.recall({ types: ['action'] })).length).toBe(1);
  });

  it('hides expired memories, expires them in a sweep (a tombstone that replicates, content erased), and tombstones forgotten ones', async () => {
    const m = await backend(name).memory(tenant());
    const expired = await m.memories.remember({ type: 'context', content: 'stale', expiresAt: new Date(Date.now() - 1000) });
    const live = await m.memories.remember({ type: 'context', content: 'fresh', expiresAt: new Date(Date.now() + 3_600_000) });
    const forever = await m.memories.remember({ type: 'context', content: 'forever' });
    expect(await m.memories.get(expired)).toBeNull();
    expect((await m.memories.recall({ types: ['context'] })).map((x) => x.id).sort()).toEqual([live, forever].sort());
    expect(await m.memories.sweepExpired()).toBe(1);
    expect(await m.memories.sweepExpired()).toBe(0);
    const swept = await m.storeContext.read('t', async (tx) => {
      const { rows } = await tx.query('SELECT content, deleted_at FROM agentmem.memories WHERE tenant_id = $1 AND id = $2', [
        m.tenant,
        expired,
      ]);
      return rows[0];
    });
    expect(swept).toMatchObject({ content: null, deleted_at: expect.any(Date) });
    expect(await rowCount(m, 'memories')).toBe(3);
    expect(await m.memories.forget(live)).toBe(true);
    expect(await m.memories.forget(live)).toBe(false);
    expect(await m.memories.get(live)).toBeNull();
    // The tombstone stays (it replicates), with the content erased.
    const erased = await m.storeContext.read(
      't',
      async (tx) => (await tx.query(`SELECT content, deleted_at FROM ${m.storeContext.table('memories')} WHERE id = $1`, [live])).rows[0],
    );
    expect(erased?.content).toBeNull();
    expect(erased?.deleted_at).not.toBeNull();
  });

  it('imports atoms with a per-atom report, searches text/vector/hybrid, and walks related atoms', async () => {
    const b = backend(name);
    const m = await b.memory(tenant());
    const lines = [
      JSON.stringify({
        atom_id: 'pump:cavitation',
        atom_type: 'troubleshooting',
        title: 'Pump cavitation',
        content: 'Gravel noise in a centrifugal pump means low suction pressure and vapour bubbles.',
        keywords: ['pump', 'noise'],
        related_atoms: ['pump:npsh'],
      }),
      JSON.stringify({
        atom_id: 'pump:npsh',
        atom_type: 'concept',
        title: 'Net positive suction head',
        content: 'NPSH available must exceed NPSH required.',
        prerequisites: ['fluid:vapour-pressure'],
      }),
      JSON.stringify({
        atom_id: 'fluid:vapour-pressure',
        atom_type: 'concept',
        title: 'Vapour pressure',
        content: 'The pressure at which a liquid boils at a given temperature.',
      }),
      JSON.stringify({ atom_id: 'Bad Id', atom_type: 'concept', title: 'x', content: 'y' }),
      '{not json',
      JSON.stringify({ atom_id: 'pump:quality', atom_type: 'concept', title: 'x', content: 'y', quality_score: 7 }),
      JSON.stringify({
        atom_id: 'motor:bearing-grease',
        atom_type: 'procedure',
        title: 'Greasing motor bearings',
        content: 'Add grease slowly with the motor running until the old grease is purged.',
        manufacturer: 'acme',
      }),
    ];
    const report = await importAtoms(m.atoms, lines.join('\n'));
    expect(report).toMatchObject({ total: 7, inserted: 4, updated: 0, unchanged: 0 });
    expect(report.invalid.map((i) => [i.line, i.issues[0]?.field])).toEqual([
      [4, 'atomId'],
      [5, '(line)'],
      [6, 'qualityScore'],
    ]);
    const again = await importAtoms(m.atoms, lines.join('\n'));
    expect(again).toMatchObject({ inserted: 0, updated: 0, unchanged: 4 });
    const asObject = await importAtoms(
      m.atoms,
      JSON.stringify({
        atoms: [{ atomId: 'pump:npsh', atomType: 'concept', title: 'NPSH', content: 'changed', prerequisites: ['fluid:vapour-pressure'] }],
      }),
    );
    expect(asObject).toMatchObject({ inserted: 0, updated: 1 });
    expect(await m.atoms.count()).toBe(4);
    expect(await m.atoms.count({ manufacturer: 'acme' })).toBe(1);

    const text = await m.atoms.search('gravel noise', { mode: 'text' });
    expect(text.vectorMethod).toBeNull();
    expect(text.results.map((r) => r.atom.atomId)).toEqual(['pump:cavitation']);
    const vector = await m.atoms.search('centrifugal pump makes gravel noise', { mode: 'vector', limit: 2 });
    expect(vector.vectorMethod).toBe(b.expectedVectorMethod);
    expect(vector.results[0]?.atom.atomId).toBe('pump:cavitation');
    expect(vector.results).toHaveLength(2);
    // Hybrid: a keyword-only hit and vector-only hits both appear.
    const hybrid = await m.atoms.search('vapour', { mode: 'hybrid', limit: 4 });
    expect(hybrid.results.some((r) => r.textRank && !r.vectorRank) || hybrid.results.some((r) => r.textRank && r.vectorRank)).toBe(true);
    expect(hybrid.results.some((r) => r.vectorRank && !r.textRank)).toBe(true);
    expect(hybrid.results).toHaveLength(4);
    const filtered = await m.atoms.search('grease the bearings', { mode: 'hybrid', filter: { manufacturer: 'acme' } });
    expect(filtered.results.map((r) => r.atom.atomId)).toEqual(['motor:bearing-grease']);

    const related = await m.atoms.related('pump:cavitation', 2);
    expect(related.map((r) => [r.atom.atomId, r.depth])).toEqual([
      ['pump:npsh', 1],
      ['fluid:vapour-pressure', 2],
    ]);
    expect((await m.atoms.related('pump:cavitation', 1)).map((r) => r.atom.atomId)).toEqual(['pump:npsh']);
    const stored = await m.atoms.get('pump:cavitation');
    expect(stored).toMatchObject({
      atomType: 'troubleshooting',
      keywords: ['pump', 'noise'],
      embeddingModel: 'agentmem-local-hash-v1',
      embeddingDim: 384,
    });
    expect(await m.atoms.delete('pump:cavitation')).toBe(true);
    expect(await m.atoms.get('pump:cavitation')).toBeNull();
  });

  it('a metadata filter keeps to the tenant and to atoms whose metadata contains it (nested too), in every mode', async () => {
    const b = backend(name);
    const mine = await b.memory(tenant());
    const theirs = await b.memory(tenant());
    const atom = (id: string, metadata: Record<string, unknown>) => ({
      atomId: `site:${id}`,
      atomType: 'reference' as const,
      title: `Compressor note ${id}`,
      content: `Compressor oil level and pressure check ${id}.`,
      metadata,
    });
    await mine.atoms.upsert([
      atom('a', { site: 'north', line: { id: 3 } }),
      atom('b', { site: 'north', line: { id: 4 } }),
      atom('c', { site: 'south' }),
    ]);
    await theirs.atoms.upsert([atom('a', { site: 'north', line: { id: 3 } }), atom('z', { site: 'north' })]);
    for (const mode of ['text', 'vector', 'hybrid'] as const) {
      const north = await mine.atoms.search('compressor oil pressure', { mode, filter: { metadata: { site: 'north' } } });
      expect(north.results.map((r) => r.atom.atomId).sort()).toEqual(['site:a', 'site:b']);
      const nested = await mine.atoms.search('compressor oil pressure', { mode, filter: { metadata: { line: { id: 3 } } } });
      expect(nested.results.map((r) => r.atom.atomId)).toEqual(['site:a']);
    }
    expect(await mine.atoms.count({ metadata: { site: 'north' } })).toBe(2);
    expect(await theirs.atoms.count({ metadata: { site: 'north' } })).toBe(2);
    expect(await theirs.atoms.count({ metadata: { site: 'south' } })).toBe(0);
    // Found through the tokens, a filter means what jsonb containment means: numbers by value, a string
    // is not a number, arrays match by element, and an array's objects are kept apart (checked on the row).
    await mine.atoms.upsert([
      atom('n1', { kind: 'odd', v: 1.5, s: '3', tags: ['x', 'y'], parts: [{ p: 1, q: 2 }], none: null }),
      atom('n2', { kind: 'odd', v: 2, s: 3, tags: ['y'], parts: [{ p: 1 }, { q: 2 }], deep: { a: { b: [true] } } }),
    ]);
    const filters: Record<string, unknown>[] = [
      { v: 1.5 },
      { v: 1 },
      { v: 2.0 },
      { s: '3' },
      { s: 3 },
      { tags: ['y'] },
      { tags: ['x', 'y'] },
      { tags: 'y' },
      { parts: [{ p: 1, q: 2 }] },
      { parts: [{ p: 1 }] },
      { none: null },
      { deep: { a: { b: [true] } } },
      { deep: { a: {} } },
      { kind: 'odd', tags: [] },
      {},
    ];
    for (const metadata of filters) {
      const contained = await mine.storeContext.read('t', async (tx) => {
        const { rows } = await tx.query<{ n: string }>(
          `SELECT count(*) AS n FROM ${mine.storeContext.table('knowledge_atoms')} WHERE tenant_id = $1 AND deleted_at IS NULL AND metadata @> $2::jsonb`,
          [mine.tenant, JSON.stringify(metadata)],
        );
        return Number(rows[0]?.n);
      });
      expect({ metadata, n: await mine.atoms.count({ metadata }) }).toEqual({ metadata, n: contained });
    }
    expect(await mine.atoms.count({ metadata: { parts: [{ p: 1, q: 2 }] } })).toBe(1);
    expect(await mine.atoms.count({ metadata: { v: 1.5 } })).toBe(1);
    // A number's token is its value, as jsonb compares numbers: 1.50 and 1.5 are one token.
    const sameNumber = await mine.storeContext.read('t', async (tx) => {
      const fn = `${mine.storeContext.schema}.metadata_tokens`;
      const { rows } = await tx.query<{ same: boolean }>(`SELECT ${fn}('t', '{"v": 1.50}') = ${fn}('t', '{"v": 1.5}') AS same`);
      return rows[0]?.same;
    });
    expect(sameNumber).toBe(true);
    // The index holds each tenant's own hashes of the metadata's scalars (migration 0021): the rows it finds
    // are one tenant's, and they are checked again against the metadata column, not an expression per row.
    // (Whether the planner takes it is a matter of row counts: the search bench's EXPLAIN shows it.)
    const [indexdef] = await indexDefinitions(mine, 'knowledge\\_atoms\\_metadata\\_idx');
    expect(indexdef).toContain('USING gin (metadata_tokens)');
  });

  it('keeps an embedding the caller brings, exactly, and refuses one of the wrong size or with a value no float holds', async () => {
    const m = await backend(name).memory(tenant());
    // The embedder's vector for words the atom's own text does not contain: only the given embedding can make it match.
    const [given] = (await m.storeContext.embed(['hydraulic accumulator precharge'])) as number[][];
    const report = await m.atoms.upsert([
      {
        atomId: 'own:vector',
        atomType: 'concept',
        title: 'Brought along',
        content: 'stored with a vector made elsewhere',
        embedding: given,
      },
      { atomId: 'own:none', atomType: 'concept', title: 'Embedded here', content: 'conveyor belt splice inspection' },
    ]);
    expect(report.inserted).toBe(2);
    const stored = await m.storeContext.read('test.embedding', async (tx) => {
      const { rows } = await tx.query<{ atom_id: string; embedding: number[] }>(
        `SELECT atom_id, embedding FROM ${m.storeContext.table('knowledge_atoms')} WHERE tenant_id = $1 ORDER BY atom_id`,
        [m.tenant],
      );
      return rows;
    });
    // real[] keeps 4-byte floats: each value comes back as the float nearest to what was given.
    expect(stored[1]?.embedding.map((x) => Math.fround(x))).toEqual(given?.map((x) => Math.fround(x)));
    expect(stored[0]?.embedding).toHaveLength(384);
    // Out of line (migration 0021): the row keeps the sign bits a filtered search scans, and stays narrow.
    const storage = await m.storeContext.read('test.storage', async (tx) => {
      const { rows } = await tx.query<{ attstorage: string; reloptions: string[] | null }>(
        `SELECT a.attstorage, c.reloptions FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
          WHERE c.oid = $1::regclass AND a.attname = 'embedding'`,
        [m.storeContext.table('knowledge_atoms')],
      );
      return rows[0];
    });
    expect(storage).toEqual({ attstorage: 'e', reloptions: null });
    const found = await m.atoms.search('hydraulic accumulator precharge', { mode: 'vector', limit: 1 });
    expect(found.results[0]?.atom.atomId).toBe('own:vector');
    await expect(
      m.atoms.upsert([{ atomId: 'own:short', atomType: 'concept', title: 'x', content: 'y', embedding: [0.1, 0.2] }]),
    ).rejects.toThrow(/2 dimensions, expected 384/);
    await expect(
      m.atoms.upsert([{ atomId: 'own:nan', atomType: 'concept', title: 'x', content: 'y', embedding: [0.1, Number.NaN] }]),
    ).rejects.toBeInstanceOf(ValidationError);
    const imported = await importAtoms(
      m.atoms,
      [
        JSON.stringify({ atom_id: 'own:bad', atom_type: 'concept', title: 'x', content: 'y', embedding: [1, 2, 3] }),
        JSON.stringify({ atom_id: 'own:good', atom_type: 'concept', title: 'x', content: 'y', embedding: given }),
      ].join('\n'),
    );
    expect(imported.inserted).toBe(1);
    expect(imported.invalid).toEqual([{ index: 0, line: 1, atomId: 'own:bad', issues: [expect.objectContaining({ field: 'embedding' })] }]);
  });

  it('a filtered vector query returns all k matches (filters before the LIMIT, iterative index scan)', async () => {
    const b = backend(name);
    const m = await b.memory(tenant());
    const atoms = Array.from({ length: 240 }, (_, i) => ({
      atomId: `gen:atom-${i}`,
      atomType: 'reference' as const,
      title: `Generated note ${i} about conveyor maintenance`,
      content: `Conveyor belt maintenance note number ${i}: tension, tracking and splice inspection.`,
      manufacturer: i % 24 === 0 ? 'rare-vendor' : 'common-vendor',
    }));
    await m.atoms.upsert(atoms);
    // Make the planner walk the vector index (as it does on large tables), where a
    // plain HNSW scan would find only the few filtered rows among its first candidates.
    const indexOnly: Executor = {
      write: (op, fn, options) => m.storeContext.executor.write(op, fn, options),
      read: (op, fn, options) =>
        m.storeContext.executor.read(
          op,
          async (tx, c) => {
            await tx.query('SET LOCAL enable_sort = off');
            await tx.query('SET LOCAL enable_seqscan = off');
            return fn(tx, c);
          },
          { ...options, transaction: true },
        ),
    };
    const forced = new AgentMemory(m.storeContext.with({ executor: indexOnly }), b.config, undefined);
    for (const store of [m, forced]) {
      const result = await store.atoms.search('conveyor belt tracking', {
        mode: 'vector',
        limit: 10,
        filter: { manufacturer: 'rare-vendor' },
      });
      expect(result.results).toHaveLength(10);
      expect(result.results.every((r) => r.atom.manufacturer === 'rare-vendor')).toBe(true);
      const distances = result.results.map((r) => r.distance ?? 0);
      expect(distances).toEqual([...distances].sort((x, y) => x - y));
      const hybrid = await store.atoms.search('conveyor belt tracking', {
        mode: 'hybrid',
        limit: 10,
        filter: { manufacturer: 'rare-vendor' },
      });
      expect(hybrid.results).toHaveLength(10);
    }
    if (b.expectedVectorMethod === 'hnsw') {
      // With the default threshold, a filter that leaves few candidates is answered exactly.
      const exact = withSearch(m, b.config, { exactThreshold: 20_000 });
      const exactResult = await exact.atoms.search('conveyor belt tracking', {
        mode: 'vector',
        limit: 10,
        filter: { manufacturer: 'rare-vendor' },
      });
      expect(exactResult.vectorMethod).toBe('exact-pgvector');
      expect(exactResult.results.map((r) => r.atom.atomId).sort()).toEqual(
        (
          await forced.atoms.search('conveyor belt tracking', { mode: 'vector', limit: 10, filter: { manufacturer: 'rare-vendor' } })
        ).results
          .map((r) => r.atom.atomId)
          .sort(),
      );
      // The same query without the iterative scan loses rows: the check above can fail.
      const vector = (await m.storeContext.embedder.embed(['conveyor belt tracking']))[0] as number[];
      const plain = await indexOnly.read('t', async (tx) => {
        await tx.query("SELECT set_config('hnsw.iterative_scan', 'off', true)");
        // The graph's type: halfvec on a server, vector on PGlite (migration 0030).
        const graph = await tx.query<{ indexdef: string }>('SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND indexname = $2', [
          m.storeContext.schema,
          `knowledge_atoms_embedding_hnsw_b${String(tenantBucket(m.tenant)).padStart(2, '0')}`,
        ]);
        const type = graph.rows[0]?.indexdef.includes('halfvec') ? 'halfvec' : 'vector';
        const { rows } = await tx.query(
          `SELECT atom_id FROM ${m.storeContext.table('knowledge_atoms')}
            WHERE tenant_id = $1 AND deleted_at IS NULL AND manufacturer = 'rare-vendor' AND embedding_dim = 384
              AND ${m.storeContext.schema}.tenant_bucket(tenant_id) = ${tenantBucket(m.tenant)}
            ORDER BY (embedding::${type}(384)) <=> $2::${type}(384) LIMIT 10`,
          [m.tenant, `[${vector.join(',')}]`],
        );
        return rows.length;
      });
      expect(plain).toBeLessThan(10);
    }
  });

  it("records a change's rows with the columns every provider shares: no provider's own or generated column", async () => {
    const m = await backend(name).memory(tenant());
    const session = await m.sessions.create({ agentId: 'a' });
    await m.sessions.addMessage(session.id, { role: 'user', content: 'hello' });
    const atom = { atomId: 'valve:seat', atomType: 'reference' as const, title: 'Valve seat', content: 'A worn seat leaks.' };
    await m.atoms.upsert([{ ...atom, metadata: { site: 'north', rating: 4 } }]);
    await m.atoms.upsert([{ ...atom, metadata: { site: 'south' } }]);
    await m.settings.set('agent', 'tone', 'plain');
    const changes = await m.storeContext.read('test.history', async (tx) => {
      const { rows } = await tx.query<{ table_name: TableName; old_row: object | null; new_row: object }>(
        `SELECT table_name, old_row, new_row FROM ${m.storeContext.schema}.change_history WHERE tenant_id = $1`,
        [m.tenant],
      );
      return rows;
    });
    expect(new Set(changes.map((c) => c.table_name))).toEqual(new Set(['sessions', 'memories', 'knowledge_atoms', 'settings']));
    expect(changes.some((c) => c.table_name === 'knowledge_atoms' && c.old_row !== null)).toBe(true);
    for (const change of changes) {
      const shared = sharedColumns(table(change.table_name)).sort();
      expect(Object.keys(change.new_row).sort(), change.table_name).toEqual(shared);
      if (change.old_row) expect(Object.keys(change.old_row).sort(), change.table_name).toEqual(shared);
    }
  });

  it('ranks text matches by cover density, past search.textRerank matches only the best of them by ts_rank', async () => {
    const b = backend(name);
    const m = await b.memory(tenant());
    // ts_rank puts `spread` first (the words often, far apart); cover density puts `close` first.
    const texts = {
      spread: 'pump filler filler filler seal filler filler filler pump filler filler filler seal filler filler pump filler filler seal',
      close: 'pump seal pump seal',
      pair: 'pump seal pump',
    };
    await m.atoms.upsert(
      Object.entries(texts).map(([key, content]) => ({ atomId: `note:${key}`, atomType: 'reference' as const, title: 'Note', content })),
    );
    const ids = async (textRerank: number, limit: number) =>
      (await withSearch(m, b.config, { textRerank }).atoms.search('pump seal', { mode: 'text', limit })).results.map((r) =>
        r.atom.atomId.slice('note:'.length),
      );
    const exact = ['close', 'pair', 'spread'];
    expect(await ids(800, 3)).toEqual(exact);
    expect(await ids(0, 3)).toEqual(exact);
    expect(await ids(800, 1)).toEqual(['close']);
    // Three matches, one ranked by cover density: ts_rank's best.
    expect(await ids(1, 1)).toEqual(['spread']);
    // Never fewer candidates than the rows asked: three of three is the exact ranking again.
    expect(await ids(1, 3)).toEqual(exact);
  });

  it('runs the text half of a hybrid search while the query is being embedded', async () => {
    const b = backend(name);
    const m = await b.memory(tenant());
    await m.atoms.upsert([
      { atomId: 'fan:belt', atomType: 'reference', title: 'Fan belt', content: 'A worn fan belt squeals on start-up.' },
    ]);
    // Finished hybrid operations: while the query is embedded, only the text half can finish one.
    const finished = async () =>
      (await queryDuration.get()).values
        .filter((v) => v.metricName === 'agentmem_query_duration_seconds_count' && v.labels.operation === 'atoms.search.hybrid')
        .reduce((sum, v) => sum + v.value, 0);
    const before = await finished();
    let textFinishedFirst = false;
    const base = m.storeContext.embedder;
    // A slow embedder (as a hosted model is): it answers once the text half is done, or after 5 s.
    const slow = {
      model: base.model,
      dimensions: base.dimensions,
      embed: async (texts: string[]) => {
        for (let waited = 0; waited < 5000 && !textFinishedFirst; waited += 10) {
          textFinishedFirst = (await finished()) > before;
          if (!textFinishedFirst) await new Promise((resolve) => setTimeout(resolve, 10));
        }
        return base.embed(texts);
      },
    };
    const result = await withSearch(m, b.config, {}, slow).atoms.search('fan belt', { mode: 'hybrid', limit: 5 });
    expect(textFinishedFirst).toBe(true);
    expect(result.results.map((r) => [r.atom.atomId, r.textRank, r.vectorRank])).toEqual([['fan:belt', 1, 1]]);
    // An embedder that fails fails the search with its error, after the text half has settled.
    const failing = { ...slow, embed: async () => Promise.reject(new Error('embedding service unavailable')) };
    await expect(withSearch(m, b.config, {}, failing).atoms.search('fan belt', { mode: 'hybrid' })).rejects.toThrow(
      'embedding service unavailable',
    );
  });

  it("walks its tenant's own HNSW graph (the bucket the database computes) and finds what an exact search finds", async () => {
    const b = backend(name);
    if (b.expectedVectorMethod !== 'hnsw') return;
    const m = await b.memory(tenant());
    // The client's bucket is the database's, for ASCII, Unicode and odd tenant names.
    const names = ['acme', 'tenant-42', 'Ünïcødé 租户', "o'brien", ' ', 'x'.repeat(200)];
    const buckets = await m.storeContext.read('t', async (tx) => {
      const { rows } = await tx.query<{ b: number }>(
        `SELECT ${m.storeContext.schema}.tenant_bucket(t) AS b FROM unnest($1::text[]) WITH ORDINALITY u(t, i) ORDER BY i`,
        [names],
      );
      return rows.map((r) => Number(r.b));
    });
    expect(buckets).toEqual(names.map(tenantBucket));
    const atoms = Array.from({ length: 60 }, (_, i) => ({
      atomId: `gen:bucket-${i}`,
      atomType: 'reference' as const,
      title: `Note ${i} on ${['pumps', 'valves', 'belts'][i % 3]}`,
      content: `Maintenance note ${i}: ${['seal wear on the pump', 'valve stem leak', 'belt tracking and tension'][i % 3]}.`,
    }));
    await m.atoms.upsert(atoms);
    const indexed = withSearch(m, b.config, { exactThreshold: 0 });
    const exact = withSearch(m, b.config, { exactThreshold: 1_000_000 });
    const viaIndex = await indexed.atoms.search('belt tension', { mode: 'vector', limit: 5 });
    const viaExact = await exact.atoms.search('belt tension', { mode: 'vector', limit: 5 });
    expect(viaIndex.vectorMethod).toBe('hnsw');
    expect(viaExact.vectorMethod).toBe('exact-pgvector');
    expect(viaIndex.results.map((r) => r.atom.atomId)).toEqual(viaExact.results.map((r) => r.atom.atomId));
    // The plan names the tenant's bucket index (EXPLAIN of the statement the search sends).
    const { vector } = await indexed.atoms.searchStatements('belt tension', { mode: 'vector', limit: 5 });
    const plan = await m.storeContext.read('t', async (tx) => {
      if (vector.settings) await tx.query(vector.settings.sql, vector.settings.params);
      await tx.query('SET LOCAL enable_seqscan = off');
      const { rows } = await tx.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${vector.sql}`, vector.params);
      return rows.map((r) => r['QUERY PLAN']).join('\n');
    });
    const graphName = `knowledge_atoms_embedding_hnsw_b${String(tenantBucket(m.tenant)).padStart(2, '0')}`;
    expect(plan).toContain(graphName);
    // ef_search grows with the graph as the catalog counts it: this small graph walks with the configured
    // efSearch; counted at a million rows (the catalog's figure changed for the length of one transaction),
    // with ten times that.
    const graph = `${m.storeContext.schema}.${graphName}`;
    const walk = (
      await withSearch(m, b.config, { exactThreshold: 0, efSearch: 40 }).atoms.searchStatements('belt tension', { mode: 'vector' })
    ).vector;
    const efSearchAt = (reltuples?: number) =>
      m.storeContext.read('t', async (tx) => {
        const { rows: before } = await tx.query<{ n: number }>('SELECT reltuples AS n FROM pg_class WHERE oid = $1::regclass', [graph]);
        const set = (n: number) => tx.query('UPDATE pg_class SET reltuples = $2 WHERE oid = $1::regclass', [graph, n]);
        if (reltuples !== undefined) await set(reltuples);
        if (walk.settings) await tx.query(walk.settings.sql, walk.settings.params);
        const { rows } = await tx.query<{ ef: string }>("SELECT current_setting('hnsw.ef_search') AS ef");
        if (reltuples !== undefined) await set(Number(before[0]?.n));
        return { ef: Number(rows[0]?.ef), rows: Number(before[0]?.n) };
      });
    const small = await efSearchAt();
    expect(small.rows).toBeLessThan(1000);
    expect(small.ef).toBe(40);
    expect((await efSearchAt(1_000_000)).ef).toBe(400); // 40 × 10
    expect(efSearchFor(40, 1_000_000)).toBe(400);
    expect((await efSearchAt(250_001)).ef).toBe(101); // ⌈40 × 2.50001⌉: the SQL rounds up as efSearchFor does
    expect(efSearchFor(40, 250_001)).toBe(101);
    expect((await efSearchAt(100_000_000)).ef).toBe(1000); // at most pgvector's own limit
    expect((await efSearchAt()).ef).toBe(40);
  });

  it('ranks what the HNSW graph finds by full-precision distance, as the exact search does', async () => {
    const b = backend(name);
    if (b.expectedVectorMethod !== 'hnsw') return;
    const m = await b.memory(tenant());
    const dim = m.storeContext.embedder.dimensions;
    // Two atoms 60° from the query, the nearer one by 0.0001 in one component: their halfvec
    // copies (three significant digits) are the same vector, so the graph alone ties them
    // (and the tie goes to the lower atom id, the farther one).
    const at = (x: number) => Array.from({ length: dim }, (_, i) => (i === 0 ? x : i === 1 ? 0.8660254 : 0));
    await m.atoms.upsert([
      { atomId: 'gen:rank-a-farther', atomType: 'reference', title: 'farther', content: 'farther', embedding: at(0.5) },
      { atomId: 'gen:rank-b-nearer', atomType: 'reference', title: 'nearer', content: 'nearer', embedding: at(0.5001) },
    ]);
    const east = Array.from({ length: dim }, (_, i) => (i === 0 ? 1 : 0));
    const embedder = { model: m.storeContext.embedder.model, dimensions: dim, embed: async (texts: string[]) => texts.map(() => east) };
    const searchWith = (exactThreshold: number) =>
      withSearch(m, b.config, { exactThreshold }, embedder).atoms.search('due east', { mode: 'vector', limit: 2 });
    const [viaIndex, viaExact] = [await searchWith(0), await searchWith(1_000_000)];
    expect(viaIndex.vectorMethod).toBe('hnsw');
    expect(viaExact.vectorMethod).toBe('exact-pgvector');
    expect(viaExact.results.map((r) => r.atom.atomId)).toEqual(['gen:rank-b-nearer', 'gen:rank-a-farther']);
    expect(viaIndex.results.map((r) => r.atom.atomId)).toEqual(['gen:rank-b-nearer', 'gen:rank-a-farther']);
    expect(viaIndex.results.map((r) => r.distance)).toEqual(viaExact.results.map((r) => r.distance));
  });

  it('ranks a filter of hundreds by its sign bits, then exactly: the nearest rows, at their exact distances', async () => {
    const b = backend(name);
    const m = await b.memory(tenant());
    const dim = m.storeContext.embedder.dimensions;
    let seed = 7;
    const random = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32 - 0.5;
    };
    const unit = (v: number[]) => {
      const norm = Math.hypot(...v);
      return v.map((x) => x / norm);
    };
    // 900 atoms, 450 in group a: more than the 100 rows the scan ranks again at limit 5 (four times the rows asked, at least 100).
    const embeddings = Array.from({ length: 900 }, () => unit(Array.from({ length: dim }, random)));
    embeddings[0] = embeddings[0]?.map((x, i) => (i < 3 ? 0 : x)) as number[]; // exact zeros are 0 bits, as pgvector makes them
    await m.atoms.upsert(
      embeddings.map((embedding, i) => ({
        atomId: `gen:bits-${String(i).padStart(3, '0')}`,
        atomType: 'reference' as const,
        title: `bits ${i}`,
        content: `bits ${i}`,
        metadata: { group: i % 2 ? 'b' : 'a' },
        embedding,
      })),
    );
    // The stored bits are what the search computes for a query: 1 where a component is above zero.
    const stored = await m.storeContext.read('t', async (tx) => {
      const { rows } = await tx.query<{ atom_id: string; bits: string }>(
        `SELECT atom_id, embedding_bits::text AS bits FROM ${m.storeContext.table('knowledge_atoms')} WHERE tenant_id = $1 AND atom_id = ANY($2)`,
        [m.tenant, ['gen:bits-000', 'gen:bits-001']],
      );
      return Object.fromEntries(rows.map((r) => [r.atom_id, r.bits]));
    });
    for (const i of [0, 1]) {
      expect(stored[`gen:bits-00${i}`]).toBe((embeddings[i] as number[]).map((x) => (x > 0 ? '1' : '0')).join(''));
    }
    // pgvector's binary_quantize and the SQL function a provider without pgvector uses agree.
    const disagree = await m.storeContext.read('t', async (tx) => {
      const { rows } = await tx.query<{ n: string }>(
        `SELECT count(*) AS n FROM ${m.storeContext.table('knowledge_atoms')}
          WHERE tenant_id = $1 AND embedding_bits IS DISTINCT FROM ${m.storeContext.schema}.sign_bits(embedding)`,
        [m.tenant],
      );
      return Number(rows[0]?.n);
    });
    expect(disagree).toBe(0);
    // Near atom 2k (group a): its own vector, slightly moved.
    const near = (k: number) => unit((embeddings[2 * k] as number[]).map((x) => x + random() * 0.02));
    const searchWith = (search: { exactThreshold: number; scanThreshold: number }, query: number[]) => {
      const embedder = { model: m.storeContext.embedder.model, dimensions: dim, embed: async (texts: string[]) => texts.map(() => query) };
      return withSearch(m, b.config, search, embedder).atoms.search('near', {
        mode: 'vector',
        limit: 5,
        filter: { metadata: { group: 'a' } },
      });
    };
    let found = 0;
    for (const k of [0, 5, 40, 200, 449]) {
      const query = near(k);
      const scanned = await searchWith({ exactThreshold: 10, scanThreshold: 100_000 }, query);
      const exact = await searchWith({ exactThreshold: 100_000, scanThreshold: 0 }, query);
      expect(scanned.vectorMethod).toBe('quantized');
      expect(exact.vectorMethod).toMatch(/^exact-/);
      expect(scanned.results).toHaveLength(5);
      expect(scanned.results[0]?.atom.atomId).toBe(`gen:bits-${String(2 * k).padStart(3, '0')}`);
      expect(scanned.results.every((r) => r.atom.metadata.group === 'a')).toBe(true);
      // Ranked again by exact distance: the same distance the exact search gives each row.
      const exactDistance = new Map(exact.results.map((r) => [r.atom.atomId, r.distance as number]));
      for (const hit of scanned.results) {
        const d = exactDistance.get(hit.atom.atomId);
        if (d !== undefined) expect(hit.distance).toBeCloseTo(d, 6);
      }
      const distances = scanned.results.map((r) => r.distance as number);
      expect(distances).toEqual([...distances].sort((x, y) => x - y));
      found += scanned.results.filter((r) => exactDistance.has(r.atom.atomId)).length;
    }
    // Random vectors are near-ties past the first: most of the exact five, not all, is what bits promise.
    expect(found / 25).toBeGreaterThanOrEqual(0.6);
    // The tenant alone: its own HNSW graph (a tenant bucket's) sees that filter. Its 900 rows are still
    // scanned (up to 1,500, or scanThreshold if lower); past that it walks the graph. Without one, it scans.
    const tenantAlone = (scanThreshold: number) =>
      withSearch(m, b.config, { exactThreshold: 10, scanThreshold }).atoms.search('anything', { mode: 'vector', limit: 5 });
    expect((await tenantAlone(100_000)).vectorMethod).toBe('quantized');
    expect((await tenantAlone(500)).vectorMethod).toBe(b.expectedVectorMethod === 'hnsw' ? 'hnsw' : 'quantized');
  });

  it('appends a batch of messages in order, and a retried batch writes nothing twice', async () => {
    const m = await backend(name).memory(tenant());
    const session = await m.sessions.create({ agentId: 'batch' });
    await m.sessions.addMessage(session.id, { role: 'system', content: 'be brief' });
    const batch = Array.from({ length: 30 }, (_, i) => ({
      id: randomUUID(),
      role: i % 2 ? ('assistant' as const) : ('user' as const),
      content: `turn ${i}`,
    }));
    expect(await m.sessions.addMessages(session.id, batch)).toEqual({ inserted: 30, existing: 0 });
    expect(await m.sessions.addMessages(session.id, batch.slice(10, 20))).toEqual({ inserted: 0, existing: 10 });
    const messages = await m.sessions.getMessages(session.id);
    expect(messages.map((msg) => msg.content)).toEqual(['be brief', ...batch.map((x) => x.content)]);
    expect(messages.map((msg) => msg.seq)).toEqual(messages.map((_, i) => i));
    expect(messages).toHaveLength(31);
    await expect(m.sessions.addMessages(randomUUID(), batch)).rejects.toBeInstanceOf(NotFoundError);
    await expect(m.sessions.addMessages(session.id, [{ role: 'robot', content: 'x' } as never])).rejects.toBeInstanceOf(ValidationError);
    // Old and new mixed, and one id twice: the new ones are appended once each, in the order given.
    const fresh = { id: randomUUID(), role: 'user' as const, content: 'fresh' };
    const twice = { id: randomUUID(), role: 'assistant' as const, content: 'once' };
    expect(await m.sessions.addMessages(session.id, [batch[0]!, fresh, twice, { ...twice, content: 'twice' }])).toEqual({
      inserted: 2,
      existing: 2,
    });
    expect((await m.sessions.getMessages(session.id)).slice(-3).map((x) => x.content)).toEqual(['turn 29', 'fresh', 'once']);
    // A message of another session keeps its place; a removed one sent again comes back, as the newest.
    const other = await m.sessions.create({ agentId: 'batch-other' });
    expect(await m.sessions.addMessages(other.id, [fresh])).toEqual({ inserted: 0, existing: 1 });
    expect(await m.sessions.getMessages(other.id)).toEqual([]);
    expect(await m.sessions.clearMessages(session.id)).toBe(33);
    expect(await m.sessions.addMessages(session.id, [batch[1]!, fresh])).toEqual({ inserted: 2, existing: 0 });
    expect((await m.sessions.getMessages(session.id)).map((x) => [x.content, x.seq])).toEqual([
      ['turn 1', 0],
      ['fresh', 1],
    ]);
  });

  it('defers the vector index for a large import, then builds it from its own definition', async () => {
    const b = backend(name);
    const m = await b.memory(tenant());
    const indexes = () => indexDefinitions(m, VECTOR_INDEXES_LIKE);
    const before = await indexes();
    let during: string[] = [];
    let searched = 0;
    const counts = await m.atoms.withVectorIndexesDeferred(async () => {
      during = await indexes();
      const result = await m.atoms.upsert(
        Array.from({ length: 50 }, (_, i) => ({
          atomId: `gen:deferred-${i}`,
          atomType: 'concept' as const,
          title: `Deferred ${i}`,
          content: `pump seal ${i}`,
        })),
      );
      // Searches still answer while the index is away (exactly).
      searched = (await m.atoms.search('pump seal', { mode: 'hybrid', limit: 5 })).results.length;
      return result;
    });
    expect(counts.inserted).toBe(50);
    expect(during).toEqual([]);
    expect(searched).toBe(5);
    expect(await indexes()).toEqual(before);
    expect((await m.atoms.search('pump seal', { mode: 'vector', limit: 5 })).results).toHaveLength(5);
    // A load that fails: its own error comes back, and the indexes are built all the same.
    await expect(
      m.atoms.withVectorIndexesDeferred(async () => {
        throw new Error('the source file ended early');
      }),
    ).rejects.toThrow('the source file ended early');
    expect(await indexes()).toEqual(before);
  });

  it('refuses to compare vectors from a different embedder', async () => {
    const b = backend(name);
    const t = tenant();
    const m = await b.memory(t);
    await m.atoms.upsert([{ atomId: 'x:one', atomType: 'concept', title: 'One', content: 'first atom' }]);
    // The same database and connections, a different embedder.
    const other = new AgentMemory(m.storeContext.with({ embedder: new LocalHashEmbedder(64) }), b.config, undefined);
    try {
      await expect(other.atoms.search('first', { mode: 'vector' })).rejects.toBeInstanceOf(EmbeddingMismatchError);
      expect((await other.atoms.search('first', { mode: 'text' })).results).toHaveLength(1);
      expect(await other.atoms.reembed()).toBe(1);
      expect((await other.atoms.search('first', { mode: 'vector' })).results).toHaveLength(1);
    } finally {
      await other.close();
    }
  });

  it('stores settings with upsert, typed getters, env fallback and a cache that does not keep failures', async () => {
    const m = await backend(name).memory(tenant());
    await m.settings.set('memory', 'batch_size', 50, 'rows per batch');
    await m.settings.set('memory', 'batch_size', 75);
    await m.settings.set('features', 'hybrid', true);
    await m.settings.set('search', 'weights', { text: 0.4, vector: 0.6 });
    await m.settings.set('search', 'threshold', '0.25');
    expect(await m.settings.getInt('memory', 'batch_size')).toBe(75);
    expect(await m.settings.getBool('features', 'hybrid')).toBe(true);
    expect(await m.settings.getJSON('search', 'weights')).toEqual({ text: 0.4, vector: 0.6 });
    expect(await m.settings.getFloat('search', 'threshold')).toBe(0.25);
    expect(await m.settings.getInt('memory', 'missing', 7)).toBe(7);
    await expect(m.settings.getInt('features', 'hybrid')).rejects.toBeInstanceOf(ValidationError);
    const list = await m.settings.list('memory');
    expect(list).toMatchObject([{ category: 'memory', key: 'batch_size', value: 75, description: 'rows per batch' }]);
    expect(await rowCount(m, 'settings')).toBe(4);
    expect(await m.settings.delete('search', 'threshold')).toBe(true);
    expect(await m.settings.get('search', 'threshold')).toBeUndefined();

    // Environment fallback by CATEGORY_KEY.
    const withEnv = new Settings(m.storeContext, 60_000, { AGENT_MAX_TURNS: '12', AGENT_VERBOSE: 'yes' });
    expect(await withEnv.getInt('agent', 'max_turns')).toBe(12);
    expect(await withEnv.getBool('agent', 'verbose')).toBe(true);

    // A failed load is not cached: the next call goes to the database again.
    let failNext = true;
    const flaky: Executor = {
      write: (op, fn, options) => m.storeContext.executor.write(op, fn, options),
      read: (op, fn, options) => {
        if (failNext) {
          failNext = false;
          return Promise.reject(new Error('provider hiccup'));
        }
        return m.storeContext.executor.read(op, fn, options);
      },
    };
    const cached = new Settings(m.storeContext.with({ executor: flaky }), 60_000);
    await expect(cached.getInt('memory', 'batch_size')).rejects.toThrow('provider hiccup');
    expect(await cached.getInt('memory', 'batch_size')).toBe(75);
    // A successful load is cached for the TTL …
    await m.settings.set('memory', 'batch_size', 99);
    expect(await cached.getInt('memory', 'batch_size')).toBe(75);
    // … and a write through the same Settings refreshes it at once.
    await cached.set('memory', 'batch_size', 100);
    expect(await cached.getInt('memory', 'batch_size')).toBe(100);
  });

  it('rejects bad input before any SQL runs, and writes nothing', async () => {
    const m = await backend(name).memory(tenant());
    const s = await m.sessions.create({});
    const before = {
      sessions: await rowCount(m, 'sessions'),
      memories: await rowCount(m, 'memories'),
      atoms: await rowCount(m, 'knowledge_atoms'),
    };
    const bad: [string, () => Promise<unknown>][] = [
      ['unknown memory type', () => m.memories.remember({ type: 'session_memory' as never, content: 'x' })],
      ['wrong type', () => m.memories.remember({ type: 'log', content: 'x', importance: 'high' as never })],
      ['NUL in content', () => m.memories.remember({ type: 'log', content: { text: 'a\u0000b' } })],
      ['NUL in key', () => m.memories.remember({ type: 'log', content: { 'a\u0000': 1 } })],
      ['lone surrogate', () => m.sessions.addMessage(s.id, { role: 'user', content: 'bad \ud800 text' })],
      ['too large', () => m.memories.remember({ type: 'log', content: 'x'.repeat(70 * 1024) })],
      ['NaN', () => m.memories.remember({ type: 'log', content: { n: Number.NaN } })],
      ['injection in an identifier', () => m.sessions.create({ agentId: "x'; DROP TABLE agentmem.sessions; --" })],
      ['injection in a setting key', () => m.settings.set('memory', "k' OR '1'='1", 1)],
      ['bad session id', () => m.sessions.addMessage('1 OR 1=1', { role: 'user', content: 'x' })],
      ['bad role', () => m.sessions.addMessage(s.id, { role: 'tool' as never, content: 'x' })],
      [
        'invalid atom in a batch',
        () =>
          m.atoms.upsert([
            { atomId: 'ok:one', atomType: 'concept', title: 't', content: 'c' },
            { atomId: 'ok:two', atomType: 'nope' as never, title: 't', content: 'c' },
          ]),
      ],
      [
        'save with one bad message',
        () =>
          m.sessions.save({
            session: { id: s.id },
            messages: [
              { role: 'user', content: 'fine' },
              { role: 'user', content: 'bad\u0000' },
            ],
          }),
      ],
    ];
    for (const [label, call] of bad) {
      const error = await call().catch((e: unknown) => e);
      expect(error, label).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).code, label).toBe('VALIDATION');
    }
    expect({
      sessions: await rowCount(m, 'sessions'),
      memories: await rowCount(m, 'memories'),
      atoms: await rowCount(m, 'knowledge_atoms'),
    }).toEqual(before);
    // Injection text is just text where text belongs.
    const id = await m.memories.remember({ type: 'log', content: "'; DROP TABLE agentmem.memories; --" });
    expect((await m.memories.get(id))?.content).toBe("'; DROP TABLE agentmem.memories; --");
  });
});
