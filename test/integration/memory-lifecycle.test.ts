/**
 * Facts that change and no duplicate memories (issue 19), on every kind of
 * database: a native server with pgvector, one without, and PGlite.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AgentMemory, ConflictError, NotFoundError } from '../../src/index.js';
import { Items } from '../../src/memory/items.js';
import { registry } from '../../src/observability/metrics.js';
import { useBackends } from '../harness/backends.js';

const { backend, tenant } = useBackends();

async function duplicatesCounted(kind: 'exact' | 'near'): Promise<number> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === 'agentmem_memory_duplicates_total');
  return Number(((metric?.values ?? []) as { labels: { kind: string }; value: number }[]).find((v) => v.labels.kind === kind)?.value ?? 0);
}

/** The same store with write-time deduplication off: duplicates get stored (as by an older agentmem). */
function withoutDedupe(m: AgentMemory): AgentMemory {
  return new AgentMemory(
    m.storeContext.with({ dedupe: { ...m.storeContext.dedupe, exact: false, near: { enabled: false, threshold: 0.92, window: 2000 } } }),
    m.config,
    undefined,
  );
}

/** The same store with near-duplicate linking on (a threshold the local embedder's paraphrases clear). */
function withNearDedupe(m: AgentMemory, threshold = 0.8): AgentMemory {
  return new AgentMemory(
    m.storeContext.with({ dedupe: { ...m.storeContext.dedupe, exact: true, near: { enabled: true, threshold, window: 2000 } } }),
    m.config,
    undefined,
  );
}

describe.each(['pg-vector', 'pg-novector', 'pglite'] as const)('memory lifecycle on %s', (name) => {
  it('stores an exact duplicate once: normalised content, same type and user; returns the first id and counts it', async () => {
    const m = await backend(name).memory(tenant());
    const before = await duplicatesCounted('exact');
    const first = await m.memories.rememberOutcome({ type: 'decision', content: 'Use PostgreSQL for memory', userId: 'u1' });
    expect(first.duplicate).toBe(false);
    const again = await m.memories.rememberOutcome({ type: 'decision', content: '  use postgresql   for MEMORY ', userId: 'u1' });
    expect(again).toEqual({ id: first.id, duplicate: true, nearDuplicateOf: null });
    // An explicit id does not make a duplicate a new memory either.
    const explicit = await m.memories.rememberOutcome({
      id: randomUUID(),
      type: 'decision',
      content: 'use postgresql for memory',
      userId: 'u1',
    });
    expect(explicit.id).toBe(first.id);
    // Objects compare with their keys in any order.
    const o1 = await m.memories.remember({ type: 'context', content: { a: 1, b: 'X y' } });
    expect(await m.memories.remember({ type: 'context', content: { b: 'x  Y', a: 1 } })).toBe(o1);
    expect(await duplicatesCounted('exact')).toBe(before + 3);
    // Another type, another user, or other content is another memory.
    const distinct = new Set([
      first.id,
      await m.memories.remember({ type: 'action', content: 'Use PostgreSQL for memory', userId: 'u1' }),
      await m.memories.remember({ type: 'decision', content: 'Use PostgreSQL for memory', userId: 'u2' }),
      await m.memories.remember({ type: 'decision', content: 'Use MySQL for memory', userId: 'u1' }),
    ]);
    expect(distinct.size).toBe(4);
    expect(await m.memories.recall({ types: ['decision'], userId: 'u1' })).toHaveLength(2);
    // Without a user, the session's is the memory's: the same fact in that session is a duplicate, as it is for u1 above.
    const session = await m.sessions.create({ userId: 'u3' });
    const inSession = await m.memories.rememberOutcome({ type: 'decision', content: 'Page the on-call', sessionId: session.id });
    expect(await m.memories.get(inSession.id)).toMatchObject({ userId: 'u3', sessionId: session.id });
    const byUser = await m.memories.rememberOutcome({ type: 'decision', content: 'page the ON-CALL', userId: 'u3' });
    expect(byUser).toEqual({ id: inSession.id, duplicate: true, nearDuplicateOf: null });
    // Events (actions, logs) may happen twice; messages are a transcript: the same words twice are two messages.
    const logs = new Set([
      await m.memories.remember({ type: 'log', content: 'retried' }),
      await m.memories.remember({ type: 'log', content: 'retried' }),
    ]);
    expect(logs.size).toBe(2);
    const s = await m.sessions.create({});
    await m.sessions.addMessage(s.id, { role: 'user', content: 'hi' });
    await m.sessions.addMessage(s.id, { role: 'user', content: 'hi' });
    expect(await m.sessions.getMessages(s.id)).toHaveLength(2);
  });

  it('remembers and answers the memory as a read would: the new one, or for a duplicate the one already there', async () => {
    const m = await backend(name).memory(tenant());
    const session = await m.sessions.create({ userId: 'u9' });
    const input = { type: 'decision' as const, content: { text: 'Ship on Friday' }, metadata: { by: 'ops' }, importance: 0.9 };
    const stored = await m.memories.rememberAndRead({ ...input, sessionId: session.id });
    expect(stored.duplicate).toBe(false);
    expect(stored.memory).toEqual(await m.memories.get(stored.id));
    expect(stored.memory).toMatchObject({ ...input, userId: 'u9', sessionId: session.id, duplicateOf: null });
    const again = await m.memories.rememberAndRead({ ...input, userId: 'u9', metadata: { by: 'someone else' } });
    expect(again).toMatchObject({ id: stored.id, duplicate: true });
    expect(again.memory).toEqual(stored.memory);
    const log = await m.memories.rememberAndRead({ type: 'log', content: 'retried', expiresAt: new Date(Date.now() + 60_000) });
    expect(log.memory).toEqual(await m.memories.get(log.id));
  });

  it('a fact forgotten and remembered again is current again, under the same id', async () => {
    const m = await backend(name).memory(tenant());
    const id = await m.memories.remember({ type: 'issue', content: 'login page is slow' });
    expect(await m.memories.forget(id)).toBe(true);
    expect(await m.memories.get(id)).toBeNull();
    expect(await m.memories.remember({ type: 'issue', content: 'Login page is slow' })).toBe(id);
    expect((await m.memories.get(id))?.content).toBe('Login page is slow');
  });

  it('every delete path erases everything a memory said: forget of a tool-calling message keeps no arguments, name or format fields', async () => {
    const m = await backend(name).memory(tenant());
    const s = await m.sessions.create({});
    const call = await m.sessions.addMessage(s.id, {
      role: 'assistant',
      name: 'planner',
      content: '',
      toolCalls: [{ id: 'call_1', name: 'lookup', arguments: { card: '4111 1111' } }],
    });
    const fact = await m.memories.remember({ type: 'decision', content: 'secret plan', metadata: { by: 'x' } });
    expect(await m.memories.forget(call.id)).toBe(true);
    expect(await m.memories.forget(fact)).toBe(true);
    const rows = await m.storeContext.read(
      't',
      async (tx) =>
        (
          await tx.query(
            `SELECT content, metadata, name, tool_calls, tool_call_id, extra, content_hash, embedding FROM ${m.storeContext.table('memories')}
            WHERE tenant_id = $1 AND id = ANY($2::uuid[])`,
            [m.tenant, [call.id, fact]],
          )
        ).rows,
    );
    expect(rows).toHaveLength(2);
    for (const row of rows)
      expect(row).toEqual({
        content: null,
        metadata: {},
        name: null,
        tool_calls: null,
        tool_call_id: null,
        extra: null,
        content_hash: null,
        embedding: null,
      });
  });

  it('links a near-duplicate by embedding similarity at write time; an unrelated memory is not linked', async () => {
    const m = withNearDedupe(await backend(name).memory(tenant()));
    const before = await duplicatesCounted('near');
    const original = await m.memories.remember({ type: 'context', content: 'the customer prefers email over phone calls for updates' });
    const near = await m.memories.rememberOutcome({
      type: 'context',
      content: 'the customer prefers email over phone calls for all updates',
    });
    expect(near.duplicate).toBe(false);
    expect(near.nearDuplicateOf).toBe(original);
    expect((await m.memories.get(near.id))?.duplicateOf).toBe(original);
    const unrelated = await m.memories.rememberOutcome({ type: 'context', content: 'invoice 7781 was paid twice in March' });
    expect(unrelated.nearDuplicateOf).toBeNull();
    expect(await duplicatesCounted('near')).toBe(before + 1);
  });

  it('a memory supersedes another: the old gets validTo, search returns the current fact, as-of returns what was true then', async () => {
    const m = await backend(name).memory(tenant());
    const old = await m.memories.remember({ type: 'decision', content: 'deploy on Fridays', userId: 'ops' });
    await new Promise((r) => setTimeout(r, 30));
    const between = new Date();
    await new Promise((r) => setTimeout(r, 30));
    const current = await m.memories.remember({ type: 'decision', content: 'never deploy on Fridays', userId: 'ops', supersedes: old });
    const oldRow = await m.memories.get(old);
    expect(oldRow?.validTo).toBeInstanceOf(Date);
    expect(oldRow?.supersededBy).toBe(current);
    expect((await m.memories.get(current))?.supersedes).toBe(old);

    const now = await m.memories.recall({ types: ['decision'] });
    expect(now.map((x) => x.id)).toEqual([current]);
    expect((await m.memories.recall({ text: 'deploy Fridays' })).map((x) => x.id)).toEqual([current]);
    expect((await m.memories.recall({ types: ['decision'], includeSuperseded: true })).map((x) => x.id).sort()).toEqual(
      [old, current].sort(),
    );
    const then = await m.memories.recall({ types: ['decision'], asOf: between });
    expect(then.map((x) => x.id)).toEqual([old]);
    expect(then[0]?.validTo).toBeNull();
    // The change history keeps both versions of the old fact.
    const changes = await m.history.changes(old);
    expect(changes.map((c) => c.operation)).toEqual(['insert', 'update']);

    // A retry of the same supersession is the same write; superseding a superseded fact is refused; a missing one is not found.
    expect(await m.memories.remember({ id: current, type: 'decision', content: 'never deploy on Fridays', supersedes: old })).toBe(current);
    await expect(m.memories.remember({ type: 'decision', content: 'deploy any day', supersedes: old })).rejects.toBeInstanceOf(
      ConflictError,
    );
    await expect(m.memories.remember({ type: 'decision', content: 'x', supersedes: randomUUID() })).rejects.toBeInstanceOf(NotFoundError);
    // Writing the superseded content again (no supersedes) is that fact current again, not a duplicate of history.
    expect(await m.memories.remember({ type: 'decision', content: 'deploy on Fridays', userId: 'ops' })).toBe(old);
    expect((await m.memories.get(old))?.validTo).toBeNull();
  });

  it('memory dedupe merges existing duplicates into the oldest, keeping the history of both; a dry run changes nothing', async () => {
    const m = await backend(name).memory(tenant());
    const raw = withoutDedupe(m);
    const first = await raw.memories.remember({ type: 'decision', content: 'ship on Tuesdays', importance: 0.2, metadata: { by: 'a' } });
    await new Promise((r) => setTimeout(r, 5));
    const second = await raw.memories.remember({ type: 'decision', content: 'Ship on  tuesdays', importance: 0.9 });
    const third = await raw.memories.remember({ type: 'decision', content: 'ship on tuesdays ' });
    const otherUser = await raw.memories.remember({ type: 'decision', content: 'ship on tuesdays', userId: 'someone' });
    const near = withNearDedupe(m);
    const original = await near.memories.remember({ type: 'context', content: 'the warehouse in Leeds closes at six on weekdays' });
    const linked = await near.memories.rememberOutcome({
      type: 'context',
      content: 'the warehouse in Leeds closes at six on all weekdays',
    });
    expect(linked.nearDuplicateOf).toBe(original);
    const s = await m.sessions.create({});
    await m.sessions.addMessage(s.id, { role: 'user', content: 'same' });
    await m.sessions.addMessage(s.id, { role: 'user', content: 'same' });
    // Keyed items are addressed by their key: two keys holding the same value stay two items.
    await m.items.put({ namespace: ['prefs'], key: 'a', value: { theme: 'dark' } });
    await m.items.put({ namespace: ['prefs'], key: 'b', value: { theme: 'dark' } });

    const steps = new Map<string, [number, number]>();
    const dry = await m.memories.dedupe({ dryRun: true, onProgress: (done, total, step) => steps.set(step, [done, total]) });
    expect(dry).toMatchObject({ dryRun: true, exact: { groups: 1, merged: 2 }, near: { merged: 1 } });
    expect(dry.hashed).toBeGreaterThanOrEqual(4);
    // Each step reported to its end.
    expect(steps.get('hashing facts')).toEqual([dry.hashed, dry.hashed]);
    expect(steps.get('merging exact duplicates')).toEqual([1, 1]);
    expect(steps.get('merging near-duplicates')).toEqual([1, 1]);
    expect(await m.memories.get(second)).not.toBeNull();

    const done = await m.memories.dedupe();
    expect(done).toMatchObject({ dryRun: false, exact: { groups: 1, merged: 2 }, near: { merged: 1 } });
    const survivor = await m.memories.get(first);
    expect(survivor?.importance).toBeCloseTo(0.9);
    expect([...((survivor?.metadata.mergedFrom ?? []) as string[])].sort()).toEqual([second, third].sort());
    expect(survivor?.metadata.by).toBe('a');
    expect(await m.memories.get(second)).toBeNull();
    expect(await m.memories.get(linked.id)).toBeNull();
    expect(await m.memories.get(otherUser)).not.toBeNull();
    expect(await m.sessions.getMessages(s.id)).toHaveLength(2);
    expect((await m.items.get(['prefs'], 'a'))?.value).toEqual({ theme: 'dark' });
    expect((await m.items.get(['prefs'], 'b'))?.value).toEqual({ theme: 'dark' });
    // The merged memory's content stays in its history.
    const changes = await m.history.changes(second);
    expect(changes.at(-1)?.operation).toBe('delete');
    expect(changes.at(-1)?.before?.content).toBe('Ship on  tuesdays');
    expect(await m.memories.dedupe()).toMatchObject({ exact: { groups: 0, merged: 0 }, near: { merged: 0 }, hashed: 0 });
  });

  it('leaves the same tombstone whichever path deletes a memory: forget, an item delete, a session clear', async () => {
    const m = await backend(name).memory(tenant());
    const fact = await m.memories.remember({ type: 'context', content: 'the door code is 4321', metadata: { room: 'b' } });
    await m.items.put({ namespace: ['prefs'], key: 'door', value: { code: 4321 }, embedText: 'door code 4321' });
    const s = await m.sessions.create({});
    const message = await m.sessions.addMessage(s.id, { role: 'user', content: 'the door code is 4321', metadata: { room: 'b' } });
    expect(await m.memories.forget(fact)).toBe(true);
    expect(await m.items.delete(['prefs'], 'door')).toBe(true);
    expect(await m.sessions.clearMessages(s.id)).toBe(1);
    const erased = { content: null, metadata: {}, embedding: null, embedding_model: null, embedding_dim: null, content_hash: null };
    for (const id of [fact, Items.idOf(['prefs'], 'door'), message.id]) {
      const tombstone = (await m.history.changes(id)).at(-1);
      expect(tombstone?.operation, id).toBe('delete');
      expect(tombstone?.after, id).toMatchObject(erased);
    }
  });
});
