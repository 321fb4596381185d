/**
 * LangGraph.js's own store tests, ported to AgentmemStore and run on a native
 * server and on PGlite: the namespace cases of `libs/checkpoint`
 * (namespace.test.ts, store-delimiter.test.ts, which run against
 * InMemoryStore) and the BaseStore cases of `libs/checkpoint-postgres`'s
 * store.int.test.ts (batch, CRUD, namespace validation, TTL, per-put index
 * fields, filtered and paged search, namespace listing).
 *
 * Not ported, with the reason: PostgresStore's own search options (`mode`,
 * `vectorWeight`, `similarityThreshold`, `distanceMetric`) and methods
 * (`getStats`, `sweepExpiredItems`, `setup` and its migration table) are not
 * part of BaseStore; agentmem expires items by itself and migrates with its
 * own migrator. Where PostgresStore's vector mode leaves an item put with
 * `index: false` out of a query's answer, AgentmemStore (as InMemoryStore)
 * lists it after the ranked ones, without a score.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { InvalidNamespaceError } from '@langchain/langgraph-checkpoint';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentmemStore } from '../../src/adapters/langgraph.js';
import { type AgentMemory, createMemory, loadConfig } from '../../src/index.js';
import { LocalHashEmbedder } from '../../src/memory/embedders.js';
import { useCluster } from '../harness/router-cluster.js';

const cluster = useCluster(1, { migrate: true });

/** The default embedder, with every batch of texts it was asked to embed. */
function recordingEmbedder() {
  const base = new LocalHashEmbedder();
  const calls: string[][] = [];
  const embed = (texts: string[]) => {
    calls.push(texts);
    return base.embed(texts);
  };
  return { calls, model: base.model, dimensions: base.dimensions, embed };
}

const opened: AgentMemory[] = [];
afterAll(async () => {
  for (const memory of opened) await memory.close();
});

describe.each(['postgres', 'pglite'] as const)('LangGraph.js store cases on %s', (backend) => {
  let tenants = 0;
  let embedder: ReturnType<typeof recordingEmbedder>;
  let root: AgentMemory;
  beforeAll(async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'agentmem-lg-cases-'));
    const config = await loadConfig({
      cwd,
      env: {},
      overrides:
        backend === 'postgres'
          ? { providers: [{ name: 'main', url: cluster.servers[0]!.url() }] }
          : { embedded: { dataDir: join(cwd, 'data') } },
    });
    embedder = recordingEmbedder();
    root = await createMemory({ workers: false, config, migrate: true, embedder });
    opened.push(root);
  });
  /** A store on a tenant of its own, as each upstream test has a database of its own. */
  const fresh = (options: Omit<ConstructorParameters<typeof AgentmemStore>[0], 'memory'> = {}) =>
    new AgentmemStore({ memory: root.forTenant(`lgc-${backend}-${++tenants}`), ...options });
  const sorted = (namespaces: string[][]) => [...namespaces].sort();

  it('namespace listing: prefix, suffix, both, maxDepth, limit and offset', async () => {
    const store = fresh();
    const namespaces = [
      ['a', 'b', 'c'],
      ['a', 'b', 'd', 'e'],
      ['a', 'b', 'd', 'i'],
      ['a', 'b', 'f'],
      ['a', 'c', 'f'],
      ['b', 'a', 'f'],
      ['users', '123'],
      ['users', '456', 'settings'],
      ['admin', 'users', '789'],
    ];
    for (const [i, ns] of namespaces.entries()) await store.put(ns, `id_${i}`, { data: `value_${String(i).padStart(2, '0')}` });
    const ab = [
      ['a', 'b', 'c'],
      ['a', 'b', 'd', 'e'],
      ['a', 'b', 'd', 'i'],
      ['a', 'b', 'f'],
    ];
    expect(sorted(await store.listNamespaces({ prefix: ['a', 'b'] }))).toEqual(sorted(ab));
    expect(sorted(await store.listNamespaces({ suffix: ['f'] }))).toEqual(
      sorted([
        ['a', 'b', 'f'],
        ['a', 'c', 'f'],
        ['b', 'a', 'f'],
      ]),
    );
    expect(sorted(await store.listNamespaces({ prefix: ['a'], suffix: ['f'] }))).toEqual([
      ['a', 'b', 'f'],
      ['a', 'c', 'f'],
    ]);
    expect(sorted(await store.listNamespaces({ prefix: ['a', 'b'], maxDepth: 3 }))).toEqual([
      ['a', 'b', 'c'],
      ['a', 'b', 'd'],
      ['a', 'b', 'f'],
    ]);
    expect(await store.listNamespaces({ prefix: ['a', 'b'], limit: 2 })).toEqual(ab.slice(0, 2));
    expect(await store.listNamespaces({ prefix: ['a', 'b'], offset: 2 })).toEqual(ab.slice(2));
  });

  it('namespace listing with wildcards', async () => {
    const store = fresh();
    const namespaces = [
      ['users', '123'],
      ['users', '456'],
      ['users', '789', 'settings'],
      ['admin', 'users', '789'],
      ['guests', '123'],
      ['guests', '456', 'preferences'],
    ];
    for (const [i, ns] of namespaces.entries()) await store.put(ns, `id_${i}`, { data: i });
    expect(sorted(await store.listNamespaces({ prefix: ['users', '*'] }))).toEqual(
      sorted([
        ['users', '123'],
        ['users', '456'],
        ['users', '789', 'settings'],
      ]),
    );
    expect(await store.listNamespaces({ suffix: ['*', 'preferences'] })).toEqual([['guests', '456', 'preferences']]);
    expect(await store.listNamespaces({ prefix: ['*', 'users'], suffix: ['*', 'settings'] })).toEqual([]);
    await store.put(['admin', 'users', 'settings', '789'], 'foo', { data: 'some_val' });
    expect(await store.listNamespaces({ prefix: ['*', 'users'], suffix: ['settings', '*'] })).toEqual([
      ['admin', 'users', 'settings', '789'],
    ]);
  });

  it('namespace listing: pages of 5 over 20 namespaces, maxDepth over uneven depths, an empty store', async () => {
    const store = fresh();
    const sub = (i: number) => ['namespace', `sub_${String(i).padStart(2, '0')}`];
    for (let i = 0; i < 20; i++) await store.put(sub(i), `id_${i}`, { data: i });
    for (const offset of [0, 5, 15])
      expect(await store.listNamespaces({ prefix: ['namespace'], limit: 5, offset })).toEqual(
        Array.from({ length: 5 }, (_, i) => sub(i + offset)),
      );

    const deep = fresh();
    for (const [i, ns] of [
      ['a', 'b', 'c', 'd'],
      ['a', 'b', 'c', 'e'],
      ['a', 'b', 'f'],
      ['a', 'g'],
      ['h', 'i', 'j', 'k'],
    ].entries())
      await deep.put(ns, `id_${i}`, { data: i });
    expect(sorted(await deep.listNamespaces({ maxDepth: 2 }))).toEqual([
      ['a', 'b'],
      ['a', 'g'],
      ['h', 'i'],
    ]);
    expect(await fresh().listNamespaces({})).toEqual([]);
  });

  it('invalid namespaces are refused; "langgraph" is reserved only as the root', async () => {
    const store = fresh();
    const doc = { foo: 'bar' };
    await expect(store.put([], 'foo', doc)).rejects.toThrow('Namespace cannot be empty');
    await expect(store.put(['the', 'thing.about'], 'foo', doc)).rejects.toThrow('cannot contain periods');
    await expect(store.put(['some', 'fun', ''], 'foo', doc)).rejects.toThrow('cannot be empty strings');
    await expect(store.put(['valid', 123 as unknown as string], 'key', doc)).rejects.toThrow('must be strings');
    await expect(store.put(['langgraph', 'foo'], 'bar', doc)).rejects.toThrow('Root label for namespace cannot be "langgraph"');

    await store.put(['foo', 'langgraph', 'foo'], 'bar', doc);
    expect((await store.get(['foo', 'langgraph', 'foo'], 'bar'))?.value).toEqual(doc);
    expect((await store.search(['foo', 'langgraph', 'foo']))[0]?.value).toEqual(doc);
    await store.delete(['foo', 'langgraph', 'foo'], 'bar');
    expect(await store.get(['foo', 'langgraph', 'foo'], 'bar')).toBeNull();

    await store.batch([{ namespace: ['valid', 'namespace'], key: 'key', value: doc }]);
    expect((await store.get(['valid', 'namespace'], 'key'))?.value).toEqual(doc);
    expect((await store.search(['valid', 'namespace']))[0]?.value).toEqual(doc);
    await store.delete(['valid', 'namespace'], 'key');
    expect(await store.get(['valid', 'namespace'], 'key')).toBeNull();
  });

  it('a dotted or colon alias of a namespace is refused by every method and by batch itself; wildcards in listings stay', async () => {
    const store = fresh();
    await store.put(['tenant', 'alice', 'files'], 'secret', { text: 'original' });
    for (const alias of [
      ['tenant', 'alice.files'],
      ['tenant:alice', 'files'],
    ]) {
      await expect(store.get(alias, 'secret')).rejects.toThrow(InvalidNamespaceError);
      await expect(store.delete(alias, 'secret')).rejects.toThrow(InvalidNamespaceError);
      await expect(store.put(alias, 'secret', { text: 'overwrite' })).rejects.toThrow(InvalidNamespaceError);
      await expect(store.search(alias)).rejects.toThrow(InvalidNamespaceError);
      await expect(store.batch([{ namespace: alias, key: 'secret' }])).rejects.toThrow(InvalidNamespaceError);
      await expect(store.batch([{ namespace: alias, key: 'secret', value: null }])).rejects.toThrow(InvalidNamespaceError);
    }
    await expect(store.listNamespaces({ prefix: ['tenant.alice'] })).rejects.toThrow(InvalidNamespaceError);
    await expect(store.listNamespaces({ suffix: ['alice.files'] })).rejects.toThrow(InvalidNamespaceError);
    expect(await store.listNamespaces({ prefix: ['tenant', '*'] })).toEqual([['tenant', 'alice', 'files']]);
    expect((await store.search(['tenant', 'alice']))[0]?.namespace).toEqual(['tenant', 'alice', 'files']);
    expect(await store.search([])).toHaveLength(1);
    expect((await store.get(['tenant', 'alice', 'files'], 'secret'))?.value).toEqual({ text: 'original' });
  });

  it('batch: operations run in order (a get sees an earlier put); one invalid operation refuses the whole batch before any runs', async () => {
    const store = fresh();
    const results = await store.batch([
      { namespace: ['batch'], key: 'item1', value: { data: 'first' } },
      { namespace: ['batch'], key: 'item2', value: { data: 'second' } },
      { namespace: ['batch'], key: 'item1' },
    ]);
    expect(results).toHaveLength(3);
    expect(results[0]).toBeUndefined();
    expect(results[1]).toBeUndefined();
    expect((results[2] as { value: unknown }).value).toEqual({ data: 'first' });

    await expect(
      store.batch([
        { namespace: ['batch'], key: 'item3', value: { data: 'third' } },
        { namespace: [], key: 'item4', value: { data: 'invalid' } },
      ]),
    ).rejects.toThrow('Namespace cannot be empty');
    expect(await store.get(['batch'], 'item3')).toBeNull();
  });

  it('CRUD: store and read, update (updatedAt moves), delete, complex JSON, a missing item is null', async () => {
    const store = fresh();
    await store.put(['crud', 'simple'], 'item1', { foo: 'bar', num: 42 });
    const item = await store.get(['crud', 'simple'], 'item1');
    expect(item).toMatchObject({ namespace: ['crud', 'simple'], key: 'item1', value: { foo: 'bar', num: 42 } });
    expect(item?.createdAt).toBeInstanceOf(Date);
    expect(item?.updatedAt).toBeInstanceOf(Date);

    await store.put(['crud', 'update'], 'item2', { foo: 'bar' });
    const original = await store.get(['crud', 'update'], 'item2');
    await sleep(5);
    await store.put(['crud', 'update'], 'item2', { foo: 'baz', extra: 123 });
    const updated = await store.get(['crud', 'update'], 'item2');
    expect(original?.value).toEqual({ foo: 'bar' });
    expect(updated?.value).toEqual({ foo: 'baz', extra: 123 });
    expect(updated!.updatedAt.getTime()).toBeGreaterThan(original!.updatedAt.getTime());

    await store.put(['crud', 'delete'], 'item3', { toDelete: true });
    expect(await store.get(['crud', 'delete'], 'item3')).not.toBeNull();
    await store.delete(['crud', 'delete'], 'item3');
    expect(await store.get(['crud', 'delete'], 'item3')).toBeNull();

    const complex = {
      string: 'test',
      number: 42,
      boolean: true,
      null: null,
      array: [1, 2, 3, 'four'],
      nested: { deep: { value: 'nested data' } },
    };
    await store.put(['crud', 'complex'], 'item4', complex);
    expect((await store.get(['crud', 'complex'], 'item4'))?.value).toEqual(complex);
    expect(await store.get(['crud', 'missing'], 'nope')).toBeNull();
  });

  it('a put’s own TTL (minutes): kept until then, gone after', async () => {
    const store = fresh();
    await store.put(['ttl', 'custom'], 'tempItem', { data: 'temporary data' }, undefined, { ttl: 5 });
    expect((await store.get(['ttl', 'custom'], 'tempItem'))?.value).toEqual({ data: 'temporary data' });
    await store.put(['ttl', 'short'], 'k', { data: 'soon gone' }, undefined, { ttl: 0.4 / 60 });
    expect(await store.get(['ttl', 'short'], 'k')).not.toBeNull();
    await sleep(600);
    expect(await store.get(['ttl', 'short'], 'k')).toBeNull();
    expect((await store.get(['ttl', 'custom'], 'tempItem'))?.value).toEqual({ data: 'temporary data' });
  });

  it('index: false embeds nothing; an index list embeds those fields only, and a query finds the item by them', async () => {
    const store = fresh({ index: { fields: ['content', 'title'] } });
    const before = embedder.calls.length;
    await store.put(['vectors', 'no-index'], 'doc1', { title: 'Test Document', content: 'This content should not be indexed' }, false);
    expect(embedder.calls.length).toBe(before);
    const unranked = await store.search(['vectors', 'no-index'], { query: 'test document' });
    expect(unranked.map((i) => [i.key, i.score])).toEqual([['doc1', undefined]]);
    const beforeSelective = embedder.calls.length; // the query above was embedded

    await store.put(
      ['vectors', 'selective'],
      'doc1',
      { title: 'Indexed Title', content: 'Not indexed content', summary: 'Indexed summary', metadata: { author: 'Test Author' } },
      ['title', 'summary'],
    );
    expect(embedder.calls.length).toBe(beforeSelective + 1);
    const embedded = (embedder.calls[beforeSelective] as string[]).join('\n');
    expect(embedded).toContain('Indexed Title');
    expect(embedded).toContain('Indexed summary');
    expect(embedded).not.toContain('Not indexed content');
    const found = await store.search(['vectors', 'selective'], { query: 'indexed summary' });
    expect(found[0]?.key).toBe('doc1');
    expect(found[0]?.score).toBeGreaterThan(0);

    await store.put(
      ['vectors', 'combined'],
      'doc1',
      { title: 'Combined Options Test', content: 'Testing both TTL and indexing options' },
      ['title'],
      { ttl: 10 },
    );
    const combined = (embedder.calls.at(-1) as string[]).join('\n');
    expect(combined).toBe('Combined Options Test');
    expect((await store.get(['vectors', 'combined'], 'doc1'))?.value.content).toBe('Testing both TTL and indexing options');
  });

  it('search: everything under a prefix, filters ($eq, $ne, $in, several), limit and offset without overlap, a query with a filter', async () => {
    const store = fresh({ index: { fields: ['title', 'content'] } });
    const docs = {
      doc1: {
        title: 'JavaScript Guide',
        content: 'Complete guide to JavaScript programming',
        category: 'programming',
        difficulty: 'beginner',
      },
      doc2: {
        title: 'TypeScript Handbook',
        content: 'Advanced TypeScript programming techniques',
        category: 'programming',
        difficulty: 'intermediate',
      },
      doc3: {
        title: 'Python Basics',
        content: 'Introduction to Python programming language',
        category: 'programming',
        difficulty: 'beginner',
      },
    };
    for (const [key, value] of Object.entries(docs)) await store.put(['docs'], key, { ...value, tags: [key] });
    await store.put(['recipes'], 'recipe1', { title: 'Chocolate Cake', content: 'Delicious chocolate cake', category: 'dessert' });

    const all = await store.search(['docs']);
    expect(all.map((i) => i.key).sort()).toEqual(['doc1', 'doc2', 'doc3']);
    expect(all.every((i) => i.namespace[0] === 'docs')).toBe(true);
    expect(await store.search(['docs'], { filter: { category: 'programming' } })).toHaveLength(3);
    const beginners = await store.search(['docs'], { filter: { difficulty: { $eq: 'beginner' } } });
    expect(beginners.map((i) => i.key).sort()).toEqual(['doc1', 'doc3']);
    const notAdvanced = await store.search(['docs'], { filter: { category: 'programming', difficulty: { $ne: 'advanced' } } });
    expect(notAdvanced).toHaveLength(3);
    expect(await store.search(['docs'], { filter: { difficulty: { $in: ['beginner', 'intermediate'] } } })).toHaveLength(3);

    const page1 = await store.search(['docs'], { limit: 2, offset: 0 });
    const page2 = await store.search(['docs'], { limit: 2, offset: 2 });
    expect(page1).toHaveLength(2);
    expect(page2).toHaveLength(1);
    expect([...page1, ...page2].map((i) => i.key).sort()).toEqual(['doc1', 'doc2', 'doc3']);
    expect(await store.search(['nonexistent'])).toEqual([]);

    const guides = await store.search(['docs'], { query: 'guide', filter: { difficulty: 'beginner' } });
    expect(guides.every((i) => i.value.difficulty === 'beginner')).toBe(true);
    expect(guides[0]?.key).toBe('doc1');
    const ranked = await store.search(['docs'], { query: 'JavaScript programming' });
    expect(ranked[0]?.key).toBe('doc1');
    expect(ranked.every((item, i) => i === 0 || (ranked[i - 1]?.score ?? 0) >= (item.score ?? 0))).toBe(true);
  });
});
