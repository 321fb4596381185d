/**
 * agentmem/langgraph against the real @langchain/langgraph from npm (the
 * package's subpath export, built): the BaseStore operations, and a compiled
 * graph whose nodes remember and recall through it.
 */

import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Annotation, type LangGraphRunnableConfig, MemorySaver, StateGraph } from '@langchain/langgraph';
import { AgentmemStore } from 'agentmem/langgraph';
import { describe, expect, it } from 'vitest';
import { useBackends } from '../harness/backends.js';

const { backend, tenant } = useBackends('lg');
const names = ['pg-vector', 'pg-novector', 'pglite'] as const;

describe.each(names)('agentmem/langgraph on %s', (name) => {
  it('put, get, search (filter, operators, vector query, paging), delete, listNamespaces and TTL', async () => {
    const memory = await backend(name).memory(tenant());
    const store = new AgentmemStore({ memory, index: { fields: ['text'] } });
    const ns = ['users', 'u1', 'facts'];
    await store.put(ns, 'color', { text: 'favourite colour is deep blue', kind: 'preference', weight: 3 });
    await store.put(ns, 'food', { text: 'allergic to peanuts and tree nuts', kind: 'health', weight: 9 });
    await store.put(ns, 'pet', { text: 'has a dog called Rex', kind: 'preference', weight: 5 });
    await store.put(['users', 'u2', 'facts'], 'color', { text: 'likes green', kind: 'preference', weight: 1 });

    const color = await store.get(ns, 'color');
    expect(color).toMatchObject({ namespace: ns, key: 'color', value: { text: 'favourite colour is deep blue', kind: 'preference' } });
    expect(color?.createdAt).toBeInstanceOf(Date);
    // A put replaces the value in place: same item, created then, updated now.
    await sleep(5);
    await store.put(ns, 'color', { text: 'favourite colour is now red', kind: 'preference', weight: 4 });
    const replaced = await store.get(ns, 'color');
    expect(replaced?.value.text).toBe('favourite colour is now red');
    expect(replaced?.createdAt).toEqual(color?.createdAt);
    expect(replaced!.updatedAt.getTime()).toBeGreaterThan(color!.updatedAt.getTime());

    expect((await store.search(['users', 'u1'])).map((i) => i.key).sort()).toEqual(['color', 'food', 'pet']);
    expect((await store.search(['users'], { filter: { kind: 'preference' } })).map((i) => `${i.namespace[1]}/${i.key}`).sort()).toEqual([
      'u1/color',
      'u1/pet',
      'u2/color',
    ]);
    expect((await store.search(['users'], { filter: { weight: { $gte: 4, $lt: 9 } } })).map((i) => i.key).sort()).toEqual(['color', 'pet']);
    expect((await store.search(['users'], { filter: { kind: { $in: ['health'] } } })).map((i) => i.key)).toEqual(['food']);
    expect((await store.search(['users', 'u1'], { filter: { kind: { $ne: 'preference' } } })).map((i) => i.key)).toEqual(['food']);
    const ranked = await store.search(['users', 'u1'], { query: 'peanuts allergy' });
    expect(ranked[0]?.key).toBe('food');
    expect(ranked[0]?.score).toBeGreaterThan(ranked[1]?.score ?? 1);
    const page1 = await store.search(['users'], { limit: 2 });
    const page2 = await store.search(['users'], { limit: 2, offset: 2 });
    expect([...page1, ...page2].map((i) => `${i.namespace[1]}/${i.key}`).sort()).toEqual(['u1/color', 'u1/food', 'u1/pet', 'u2/color']);

    expect(await store.listNamespaces()).toEqual([
      ['users', 'u1', 'facts'],
      ['users', 'u2', 'facts'],
    ]);
    expect(await store.listNamespaces({ prefix: ['users', '*', 'facts'], maxDepth: 2 })).toEqual([
      ['users', 'u1'],
      ['users', 'u2'],
    ]);
    expect(await store.listNamespaces({ suffix: ['facts'], prefix: ['users', 'u2'] })).toEqual([['users', 'u2', 'facts']]);

    await store.delete(ns, 'pet');
    expect(await store.get(ns, 'pet')).toBeNull();
    expect((await store.search(ns)).map((i) => i.key).sort()).toEqual(['color', 'food']);
    // Put again after a delete: a new item.
    await store.put(ns, 'pet', { text: 'has a cat now', kind: 'preference', weight: 2 });
    expect((await store.get(ns, 'pet'))?.value.text).toBe('has a cat now');

    // The items are memories like any other: recall sees them.
    expect((await memory.memories.recall({ text: 'peanuts' })).map((m) => (m.content as { text: string }).text)).toContain(
      'allergic to peanuts and tree nuts',
    );

    const shortLived = new AgentmemStore({ memory, ttl: { defaultTtlMinutes: 0.5 / 60 } });
    await shortLived.put(['tmp'], 'k', { text: 'soon gone' });
    expect(await shortLived.get(['tmp'], 'k')).not.toBeNull();
    await sleep(700);
    expect(await shortLived.get(['tmp'], 'k')).toBeNull();
    expect(await shortLived.listNamespaces({ prefix: ['tmp'] })).toEqual([]);
  });

  it('a compiled LangGraph graph remembers in one thread and recalls in another through the store', async () => {
    const memory = await backend(name).memory(tenant());
    const store = new AgentmemStore({ memory, index: { fields: ['fact'] } });
    const State = Annotation.Root({ input: Annotation<string>, recalled: Annotation<string[]> });
    const graph = new StateGraph(State)
      .addNode('remember', async (state, config: LangGraphRunnableConfig) => {
        const user = config.configurable?.userId as string;
        if (state.input.startsWith('remember ')) await config.store?.put(['memories', user], randomUUID(), { fact: state.input.slice(9) });
        return {};
      })
      .addNode('recall', async (state, config: LangGraphRunnableConfig) => {
        const user = config.configurable?.userId as string;
        const found = (await config.store?.search(['memories', user], { query: state.input, limit: 1 })) ?? [];
        return { recalled: found.map((i) => i.value.fact as string) };
      })
      .addEdge('__start__', 'remember')
      .addEdge('remember', 'recall')
      .addEdge('recall', '__end__')
      .compile({ store, checkpointer: new MemorySaver() });
    await graph.invoke(
      { input: 'remember my train leaves at nine from platform four' },
      { configurable: { thread_id: 't1', userId: 'ada' } },
    );
    await graph.invoke({ input: 'remember I prefer aisle seats' }, { configurable: { thread_id: 't1', userId: 'ada' } });
    const answer = await graph.invoke(
      { input: 'which platform does my train leave from' },
      { configurable: { thread_id: 't2', userId: 'ada' } },
    );
    expect(answer.recalled).toEqual(['my train leaves at nine from platform four']);
    const other = await graph.invoke({ input: 'which platform' }, { configurable: { thread_id: 't3', userId: 'bob' } });
    expect(other.recalled).toEqual([]);
  });
});
