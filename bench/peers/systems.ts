/**
 * Each side of the comparison behind one small interface, on its own
 * database of the same PostgreSQL server, with the same embedder (agentmem's
 * deterministic word-hash embedder, 384 dimensions, wrapped as a LangChain
 * `Embeddings` for the peers) and the same HNSW parameters (m 16,
 * ef_construction 64, ef_search 40: pgvector's defaults, which agentmem's and
 * mem0's indexes use, set explicitly for LangGraph's).
 */

import { PostgresChatMessageHistory } from '@langchain/community/stores/message/postgres';
import { HumanMessage } from '@langchain/core/messages';
import { emptyCheckpoint } from '@langchain/langgraph-checkpoint';
import { PostgresSaver } from '@langchain/langgraph-checkpoint-postgres';
import { PostgresStore } from '@langchain/langgraph-checkpoint-postgres/store';
import { Memory as Mem0 } from 'mem0ai/oss';
import pg from 'pg';

export const DIMS = 384;
export const POOL = 16;
const HNSW = { m: 16, efConstruction: 64, ef: 40 };

/** The library as shipped (the bench runner's build), and its ops entry: given by the launcher. */
// biome-ignore lint/suspicious/noExplicitAny: the compiled library is loaded by path at run time
type Lib = any;
export async function libraries(): Promise<{ lib: Lib; ops: Lib; adapters: Lib }> {
  const base = process.env.AGENTMEM_BUILD as string;
  return {
    lib: await import(`${base}/src/index.js`),
    ops: await import(`${base}/src/ops/index.js`),
    adapters: await import(`${base}/src/adapters/langgraph.js`),
  };
}

export interface Hit {
  text: string;
  user: string;
}

/** One write or read of a kind, as each system offers it. */
export interface MemorySystem {
  name: string;
  add(user: string, text: string): Promise<string>;
  search(user: string, query: string, k: number): Promise<Hit[]>;
  supersede(user: string, id: string, text: string): Promise<string>;
  deleteUser(user: string): Promise<void>;
  close(): Promise<void>;
}
export interface ItemSystem {
  name: string;
  put(user: string, key: string, text: string): Promise<void>;
  search(user: string, query: string, k: number): Promise<Hit[]>;
  close(): Promise<void>;
}
export interface MessageSystem {
  name: string;
  append(thread: string, text: string): Promise<void>;
  close(): Promise<void>;
}
export interface CheckpointSystem {
  name: string;
  /** Store a checkpoint of the thread at this step; its id. */
  put(thread: string, step: number): Promise<string>;
  close(): Promise<void>;
}

/** agentmem's embedder as a LangChain Embeddings (what mem0's langchain embedder and LangGraph's index take). */
export function langchainEmbeddings(lib: Lib) {
  const embedder = lib.createEmbedder({ kind: 'local', dimensions: DIMS });
  return {
    embedder,
    embeddings: {
      embedDocuments: (texts: string[]) => embedder.embed(texts) as Promise<number[][]>,
      embedQuery: async (text: string) => ((await embedder.embed([text])) as number[][])[0] as number[],
    },
  };
}

/**
 * agentmem on one database. `inline`: each write waits for its embedding, as mem0's add and LangGraph's
 * indexed put do; `off` for messages and checkpoints, which LangChain's history and LangGraph's saver never embed.
 */
export async function openAgentmem(lib: Lib, url: string, embed: 'inline' | 'off' = 'inline') {
  const memory = await lib.createMemory({
    config: {
      overrides: {
        providers: [{ name: 'bench', url, pool: { max: POOL } }],
        recall: { embed: { mode: embed } },
        replication: { enabled: false },
        router: { eventLog: false },
      },
      env: {},
    },
    tenant: 'bench',
    // A new database gets agentmem's schema on first use, as LangGraph's setup() and mem0's start-up make theirs.
    migrate: true,
    workers: false,
  });
  return memory;
}

export function agentmemMemories(memory: Lib): MemorySystem {
  const scoped = (user: string) => ({ userId: user });
  return {
    name: 'agentmem',
    add: (user, text) => memory.memories.remember({ type: 'fact', content: text, userId: user }),
    search: async (user, query, k) => {
      const found = await memory.memories.search(query, { scope: scoped(user), k, mode: 'hybrid' });
      return found.hits.map((h: Lib) => ({ text: String(h.memory.content), user: String(h.memory.userId) }));
    },
    supersede: (user, id, text) => memory.memories.remember({ type: 'fact', content: text, userId: user, supersedes: id }),
    deleteUser: async () => {
      throw new Error('agentmem erases a user through eraseSubject (see correctness.ts)');
    },
    close: () => memory.close(),
  };
}

export async function openMem0(url: string, embeddings: unknown): Promise<MemorySystem> {
  const { FakeListChatModel } = await import('@langchain/core/utils/testing');
  const memory = new Mem0({
    embedder: { provider: 'langchain', config: { model: embeddings } },
    // Never called: infer is false on every add (no model runs here); mem0 wants one configured.
    llm: { provider: 'langchain', config: { model: new FakeListChatModel({ responses: ['{}'] }) } },
    vectorStore: {
      provider: 'pgvector',
      config: { connectionString: url, collectionName: 'memories', embeddingModelDims: DIMS, dimension: DIMS, hnsw: true },
    },
    disableHistory: true,
  } as never);
  const hits = (found: { results?: { memory: string; user_id?: string }[] }) =>
    (found.results ?? []).map((r) => ({ text: r.memory, user: String(r.user_id) }));
  return {
    name: 'mem0',
    add: async (user, text) => {
      const added = (await memory.add(text, { userId: user, infer: false })) as { results: { id: string }[] };
      return added.results[0]?.id as string;
    },
    search: async (user, query, k) => hits((await memory.search(query, { filters: { user_id: user }, topK: k })) as never),
    // mem0 has no supersession: the way to change a fact is to update it in place.
    supersede: async (_user, id, text) => {
      await memory.update(id, { text } as never);
      return id;
    },
    deleteUser: async (user) => {
      await memory.deleteAll({ userId: user });
    },
    close: async () => {
      // biome-ignore lint/suspicious/noExplicitAny: mem0 keeps its one pg client private
      await (memory as any).vectorStore?.client?.end?.();
    },
  };
}

const namespace = (user: string) => ['users', user, 'memories'];

export function agentmemItems(adapters: Lib, memory: Lib): ItemSystem {
  const store = new adapters.AgentmemStore({ memory, index: { fields: ['text'] } });
  return {
    name: 'agentmem',
    put: (user, key, text) => store.put(namespace(user), key, { text }),
    search: async (user, query, k) => {
      const found = await store.search(namespace(user), { query, limit: k });
      return found.map((i: Lib) => ({ text: String(i.value.text), user: String(i.namespace[1]) }));
    },
    close: async () => undefined,
  };
}

export async function openLangGraphStore(url: string, embeddings: unknown): Promise<ItemSystem> {
  const store = new PostgresStore({
    connectionOptions: { connectionString: url, max: POOL },
    index: { dims: DIMS, embed: embeddings as never, fields: ['text'], indexType: 'hnsw', distanceMetric: 'cosine', hnsw: HNSW },
  } as never);
  await store.setup();
  return {
    name: 'langgraph',
    put: (user, key, text) => store.put(namespace(user), key, { text }),
    search: async (user, query, k) => {
      const found = await store.search(namespace(user), { query, limit: k });
      return found.map((i) => ({ text: String(i.value.text), user: String(i.namespace[1]) }));
    },
    close: () => store.stop(),
  };
}

export function agentmemMessages(memory: Lib): MessageSystem & { session(thread: string): Promise<string> } {
  const sessions = new Map<string, string>();
  return {
    name: 'agentmem',
    session: async (thread) => {
      const id = sessions.get(thread) ?? (await memory.sessions.create({ agentId: 'bench', title: thread })).id;
      sessions.set(thread, id);
      return id;
    },
    async append(thread, text) {
      await memory.sessions.addMessage(await this.session(thread), { role: 'user', content: text });
    },
    close: async () => undefined,
  };
}

export function openLangChainHistory(url: string): MessageSystem {
  const pool = new pg.Pool({ connectionString: url, max: POOL });
  pool.on('error', () => undefined);
  const histories = new Map<string, PostgresChatMessageHistory>();
  const history = (thread: string) => {
    const found =
      histories.get(thread) ?? new PostgresChatMessageHistory({ pool, sessionId: thread, tableName: 'langchain_chat_histories' });
    histories.set(thread, found);
    return found;
  };
  return {
    name: 'langchain',
    append: (thread, text) => history(thread).addMessage(new HumanMessage(text)),
    close: () => pool.end(),
  };
}

/** A checkpoint as a small graph writes it: a few channels, the step in its metadata. */
function checkpointAt(step: number) {
  const checkpoint = emptyCheckpoint();
  checkpoint.channel_values = { messages: [`message ${step}`], counter: step };
  checkpoint.channel_versions = { messages: step, counter: step };
  return { checkpoint, metadata: { source: 'loop' as const, step, parents: {} }, versions: { messages: step, counter: step } };
}

export function agentmemCheckpoints(adapters: Lib, memory: Lib): CheckpointSystem {
  const saver = new adapters.AgentmemSaver({ memory });
  return {
    name: 'agentmem',
    put: async (thread, step) => {
      const { checkpoint, metadata, versions } = checkpointAt(step);
      await saver.put({ configurable: { thread_id: thread, checkpoint_ns: '' } }, checkpoint, metadata, versions);
      return checkpoint.id;
    },
    close: async () => undefined,
  };
}

export async function openLangGraphSaver(url: string): Promise<CheckpointSystem> {
  const pool = new pg.Pool({ connectionString: url, max: POOL });
  pool.on('error', () => undefined);
  const saver = new PostgresSaver(pool);
  await saver.setup();
  return {
    name: 'langgraph',
    put: async (thread, step) => {
      const { checkpoint, metadata, versions } = checkpointAt(step);
      await saver.put({ configurable: { thread_id: thread, checkpoint_ns: '' } }, checkpoint, metadata, versions);
      return checkpoint.id;
    },
    close: () => pool.end(),
  };
}
