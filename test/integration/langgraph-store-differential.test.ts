/**
 * AgentmemStore against LangGraph's own InMemoryStore: the same seeded random
 * operations (puts, deletes, gets, filtered searches, namespace listings)
 * run against both, on a native server and on PGlite, and every answer is
 * compared. Namespaces include siblings that share a prefix ("acme" and
 * "acme-corp", the case LangGraph.js's PostgresStore gets wrong) and labels
 * with `%`, `_`, `\` and `*`. Where the order of results is not specified
 * (a search without a query, namespace listings), answers are compared as sets;
 * a namespace whose items were all deleted is listed by InMemoryStore and not
 * by agentmem (nor by LangGraph's PostgresStore): that one difference is allowed.
 */
import { InMemoryStore, type Item } from '@langchain/langgraph-checkpoint';
import { describe, expect, it } from 'vitest';
import { AgentmemStore } from '../../src/adapters/langgraph.js';
import type { AgentMemory } from '../../src/index.js';
import { useBackends } from '../harness/backends.js';
import { seeded } from '../harness/seeded.js';

const { backend, tenant } = useBackends('lgd');

const NAMESPACES = [
  ['tenant', 'acme'],
  ['tenant', 'acme-corp'],
  ['tenant', 'acme', 'users'],
  ['tenant', '%'],
  ['tenant', '_x'],
  ['tenant', 'a\\b'],
  ['tenant', '*'],
  ['other', 'acme'],
];
const KEYS = ['k1', 'k2', 'k%', 'k_', 'k*'];

const items = (found: Item[]) => found.map((i) => `${i.namespace.join('/')}|${i.key}|${JSON.stringify(i.value)}`).sort();

describe.each(['pg-vector', 'pglite'] as const)('AgentmemStore and InMemoryStore on %s', (name) => {
  it('answer the same 300 seeded operations alike', async () => {
    const memory = (await backend(name).memory(tenant())) as AgentMemory;
    const ours = new AgentmemStore({ memory });
    const theirs = new InMemoryStore();
    const random = seeded(7);
    const pick = <T>(list: T[]) => list[Math.floor(random() * list.length)] as T;
    for (let step = 0; step < 300; step++) {
      const roll = random();
      const namespace = pick(NAMESPACES);
      const key = pick(KEYS);
      const at = `step ${step}: `;
      if (roll < 0.45) {
        const value = { n: Math.floor(random() * 5), tag: pick(['red', 'blue']) };
        await ours.put(namespace, key, value);
        await theirs.put(namespace, key, value);
      } else if (roll < 0.55) {
        await ours.delete(namespace, key);
        await theirs.delete(namespace, key);
      } else if (roll < 0.7) {
        const [a, b] = [await ours.get(namespace, key), await theirs.get(namespace, key)];
        expect(a?.value ?? null, `${at}get ${namespace.join('/')} ${key}`).toEqual(b?.value ?? null);
      } else if (roll < 0.9) {
        const prefix = namespace.slice(0, 1 + Math.floor(random() * namespace.length));
        const filter = random() < 0.5 ? { tag: pick(['red', 'blue']) } : undefined;
        const options = { limit: 100, ...(filter ? { filter } : {}) };
        expect(items(await ours.search(prefix, options)), `${at}search ${prefix.join('/')} ${JSON.stringify(filter)}`).toEqual(
          items(await theirs.search(prefix, options)),
        );
      } else {
        const prefix = random() < 0.5 ? namespace.slice(0, 2) : undefined;
        const maxDepth = random() < 0.3 ? 2 : undefined;
        const options = { ...(prefix ? { prefix } : {}), ...(maxDepth ? { maxDepth } : {}), limit: 100 };
        const sorted = (list: string[][]) => list.map((n) => n.join('/')).sort();
        // InMemoryStore keeps listing a namespace whose last item was deleted; agentmem (as
        // LangGraph's PostgresStore) lists the namespaces that hold items.
        const holding: string[][] = [];
        for (const ns of await theirs.listNamespaces(options)) {
          const under = await theirs.search(ns, { limit: 1000 });
          if (under.some((i) => (maxDepth ? i.namespace.slice(0, ns.length) : i.namespace).join('/') === ns.join('/'))) holding.push(ns);
        }
        expect(sorted(await ours.listNamespaces(options)), `${at}listNamespaces ${JSON.stringify(options)}`).toEqual(sorted(holding));
      }
    }
    // The sibling: a prefix search of ["tenant","acme"] never returns ["tenant","acme-corp"]'s items.
    await ours.put(['tenant', 'acme-corp'], 'only-corp', { n: 1 });
    expect((await ours.search(['tenant', 'acme'], { limit: 100 })).some((i) => i.namespace[1] === 'acme-corp')).toBe(false);
  });
});
