/**
 * agentmem/langgraph — LangGraph.js's long-term memory store kept in agentmem.
 *
 * @example
 * import { createMemory } from 'agentmem';
 * import { AgentmemStore } from 'agentmem/langgraph';
 * const memory = await createMemory({ tenant: 'acme' });
 * const store = new AgentmemStore({ memory, index: { fields: ['text'] } });
 * const graph = builder.compile({ store });
 *
 * Items are keyed memories (`memory.items`): they replicate across providers,
 * back up, keep their change history and show in `agentmem memory` like every
 * memory. Vector queries use agentmem's embedder (config `embedder`); `index`
 * says which fields of a value to embed (LangGraph's paths; `$` for all of it).
 * `ttl.defaultTtlMinutes` makes every put expire. `@langchain/langgraph-checkpoint`
 * (installed with `@langchain/langgraph`) is a peer dependency.
 */
import {
  BaseStore,
  type GetOperation,
  getTextAtPath,
  type Item,
  type ListNamespacesOperation,
  type Operation,
  type OperationResults,
  type PutOperation,
  type SearchItem,
  type SearchOperation,
  validateNamespace,
} from '@langchain/langgraph-checkpoint';
import type { MemoryType } from '../core/enums.js';
import type { Items, Item as StoredItem } from '../memory/items.js';

/** What the store needs of an AgentMemory: its keyed memories. */
export interface ItemStore {
  items: Pick<Items, 'put' | 'get' | 'delete' | 'search' | 'namespaces'>;
}

export interface AgentmemStoreOptions {
  memory: ItemStore;
  /** Embed these fields of each value for `search({ query })` (default: no vector index, as LangGraph's stores). */
  index?: { fields?: string[] };
  ttl?: { defaultTtlMinutes?: number };
  /** The memory type items are stored as (default `context`). */
  type?: MemoryType;
}

const toItem = (item: StoredItem): Item => ({
  namespace: item.namespace,
  key: item.key,
  value: item.value,
  createdAt: item.createdAt,
  updatedAt: item.updatedAt,
});

/** A put with its own time to live, in minutes (PostgresStore's `put(…, { ttl })`). */
type PutWithTtl = PutOperation & { ttl?: number };

const isGet = (op: Operation): op is GetOperation => 'key' in op && !('value' in op);
const isPut = (op: Operation): op is PutOperation => 'value' in op;
const isSearch = (op: Operation): op is SearchOperation => 'namespacePrefix' in op;

export class AgentmemStore extends BaseStore {
  private readonly memory: ItemStore;
  private readonly fields: string[] | undefined;
  private readonly ttlMs: number | undefined;
  private readonly type: MemoryType;

  constructor(options: AgentmemStoreOptions) {
    super();
    this.memory = options.memory;
    this.fields = options.index ? (options.index.fields ?? ['$']) : undefined;
    this.ttlMs = options.ttl?.defaultTtlMinutes === undefined ? undefined : Math.round(options.ttl.defaultTtlMinutes * 60_000);
    this.type = options.type ?? 'context';
  }

  /**
   * Store or replace an item; `options.ttl` (minutes) makes this one expire,
   * over the store's default (as LangGraph's PostgresStore).
   */
  override async put(
    namespace: string[],
    key: string,
    value: Record<string, unknown>,
    index?: false | string[],
    options?: { ttl?: number },
  ): Promise<void> {
    validateNamespace(namespace);
    const op: PutWithTtl = { namespace, key, value, index, ...(options?.ttl === undefined ? {} : { ttl: options.ttl }) };
    await this.batch([op]);
  }

  /**
   * Each operation in order: a get after a put of the same batch sees the put
   * (as PostgresStore; InMemoryStore applies a batch's puts last). Each
   * namespace is checked as BaseStore's own methods check it, so a batch
   * cannot reach what they refuse (`a.b` or `a:b` posing as `["a","b"]`).
   */
  async batch<Op extends Operation[]>(operations: Op): Promise<OperationResults<Op>> {
    const loose = { allowEmpty: true, allowReservedRoot: true };
    for (const op of operations) {
      if (isPut(op)) validateNamespace(op.namespace, op.value === null ? loose : {});
      else if (isSearch(op)) validateNamespace(op.namespacePrefix, loose);
      else if (isGet(op)) validateNamespace(op.namespace, loose);
      else for (const c of (op as ListNamespacesOperation).matchConditions ?? []) validateNamespace(c.path, loose);
    }
    const results: unknown[] = [];
    for (const op of operations) results.push(await this.run(op));
    return results as OperationResults<Op>;
  }

  private async run(op: Operation): Promise<unknown> {
    if (isPut(op)) return this.put1(op);
    if (isSearch(op)) return this.search1(op);
    if (isGet(op)) {
      const item = await this.memory.items.get(op.namespace, op.key);
      return item ? toItem(item) : null;
    }
    return this.list1(op as ListNamespacesOperation);
  }

  private async put1(op: PutWithTtl): Promise<void> {
    if (op.value === null) {
      await this.memory.items.delete(op.namespace, op.key);
      return;
    }
    const fields = op.index === false ? undefined : (op.index ?? this.fields);
    const text = fields?.flatMap((path) => (path === '$' ? [JSON.stringify(op.value)] : getTextAtPath(op.value, path))).join('\n');
    await this.memory.items.put({
      namespace: op.namespace,
      key: op.key,
      value: op.value,
      type: this.type,
      ...(text ? { embedText: text } : {}),
      ...(op.ttl !== undefined ? { ttlMs: Math.round(op.ttl * 60_000) } : this.ttlMs === undefined ? {} : { ttlMs: this.ttlMs }),
    });
  }

  private async search1(op: SearchOperation): Promise<SearchItem[]> {
    const found = await this.memory.items.search({
      namespacePrefix: op.namespacePrefix,
      ...(op.filter ? { filter: op.filter } : {}),
      ...(op.query && this.fields ? { query: op.query } : {}),
      limit: op.limit ?? 10,
      offset: op.offset ?? 0,
    });
    return found.map((item) => ({ ...toItem(item), ...(item.score === undefined ? {} : { score: item.score }) }));
  }

  private list1(op: ListNamespacesOperation): Promise<string[][]> {
    const prefix = op.matchConditions?.find((c) => c.matchType === 'prefix')?.path;
    const suffix = op.matchConditions?.find((c) => c.matchType === 'suffix')?.path;
    return this.memory.items.namespaces({
      ...(prefix ? { prefix } : {}),
      ...(suffix ? { suffix } : {}),
      ...(op.maxDepth === undefined ? {} : { maxDepth: op.maxDepth }),
      limit: op.limit,
      offset: op.offset,
    });
  }
}

export { AgentmemSaver, type AgentmemSaverOptions } from './langgraph-saver.js';
