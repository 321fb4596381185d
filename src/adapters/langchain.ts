/**
 * agentmem/langchain — a LangChain chat message history kept in agentmem, and
 * a retriever that recalls a user's memories and messages by meaning.
 *
 * @example
 * import { createMemory } from 'agentmem';
 * import { AgentmemChatMessageHistory } from 'agentmem/langchain';
 * const memory = await createMemory({ tenant: 'acme' });
 * const history = new AgentmemChatMessageHistory({ memory, sessionId: 'thread-42' });
 * await history.addMessages([new HumanMessage('hi'), new AIMessage('hello')]);
 * const retriever = new AgentmemRetriever({ memory, scope: { userId: 'u-42' }, source: 'both' });
 * const docs = await retriever.invoke('what did I say about my delivery?');
 *
 * Every field LangChain keeps comes back as it went in: the message types
 * (human, ai with tool_calls, tool with tool_call_id, system, developer), ids,
 * names, multimodal content, additional_kwargs, response_metadata,
 * usage_metadata, a tool message's artifact and status. `@langchain/core` is a
 * peer dependency: install it beside agentmem.
 */
import { BaseListChatMessageHistory } from '@langchain/core/chat_history';
import { Document } from '@langchain/core/documents';
import { type BaseMessage, mapChatMessagesToStoredMessages, mapStoredMessagesToChatMessages } from '@langchain/core/messages';
import { BaseRetriever, type BaseRetrieverInput } from '@langchain/core/retrievers';
import {
  contentText,
  fromLangChain,
  type Memories,
  type RecallMatch,
  type RecallMode,
  type Scope,
  type SessionInput,
  type StoredMessage,
  toLangChain,
} from '../memory/index.js';
import type { Sessions } from '../memory/sessions/sessions.js';

/** What the history needs of a store (an AgentMemory): its sessions. */
export interface SessionStore {
  sessions: Pick<Sessions, 'idFor' | 'export' | 'addMessages' | 'clearMessages' | 'create'>;
}

/** By code, not class: the memory may come from another copy of agentmem than this adapter. */
const notFound = (error: unknown) => (error as { code?: unknown } | null)?.code === 'NOT_FOUND';

export interface AgentmemChatMessageHistoryInput {
  memory: SessionStore;
  /** LangChain's session (thread) id, any string: the agentmem session with this external id, created on the first write. */
  sessionId: string;
  /** Fields for the session when it is created (agent, user, title, metadata). */
  session?: Omit<SessionInput, 'id' | 'externalId'>;
}

export class AgentmemChatMessageHistory extends BaseListChatMessageHistory {
  lc_namespace = ['agentmem', 'langchain', 'chat_history'];
  private readonly memory: SessionStore;
  private readonly externalId: string;
  private readonly sessionFields: Omit<SessionInput, 'id' | 'externalId'>;
  private created = false;

  constructor(input: AgentmemChatMessageHistoryInput) {
    super(input);
    this.memory = input.memory;
    this.externalId = input.sessionId;
    this.sessionFields = input.session ?? {};
  }

  /** The agentmem session id behind this history. */
  get agentmemSessionId(): string {
    return this.memory.sessions.idFor(this.externalId);
  }

  async getMessages(): Promise<BaseMessage[]> {
    try {
      const stored = (await this.memory.sessions.export(this.agentmemSessionId, 'langchain')) as StoredMessage[];
      return mapStoredMessagesToChatMessages(stored as never);
    } catch (error) {
      if (notFound(error)) return [];
      throw error;
    }
  }

  async addMessage(message: BaseMessage): Promise<void> {
    await this.addMessages([message]);
  }

  /** One transaction for the batch; a message with a LangChain id already stored is not stored twice. */
  override async addMessages(messages: BaseMessage[]): Promise<void> {
    if (!messages.length) return;
    const inputs = fromLangChain(mapChatMessagesToStoredMessages(messages));
    await this.ensureSession();
    await this.memory.sessions.addMessages(this.agentmemSessionId, inputs);
  }

  /** Remove every message (tombstones that replicate); the session stays. */
  override async clear(): Promise<void> {
    try {
      await this.memory.sessions.clearMessages(this.agentmemSessionId);
    } catch (error) {
      if (!notFound(error)) throw error;
    }
  }

  private async ensureSession(): Promise<void> {
    if (this.created) return;
    await this.memory.sessions.create({ ...this.sessionFields, externalId: this.externalId });
    this.created = true;
  }
}

export { fromLangChain, toLangChain };

/** What the retriever needs of a store (an AgentMemory): search of memories and messages. */
export interface RecallStore {
  memories: Pick<Memories, 'search'>;
  sessions: Pick<Sessions, 'searchMessages'>;
}

export interface AgentmemRetrieverInput extends BaseRetrieverInput {
  memory: RecallStore;
  /** Whose memory: a user, an agent, a session (default: the whole tenant). */
  scope?: Scope;
  /** What to search: typed memories, conversation messages, or both (default memories). */
  source?: 'memories' | 'messages' | 'both';
  /** How many documents (default 4). */
  k?: number;
  /** `hybrid` (default), `vector` or `text`. */
  mode?: RecallMode;
  /** With messages: the turns before and after each hit, in its document (default 0). */
  around?: number;
}

/**
 * A LangChain retriever over agentmem: what a user said or decided, found by
 * meaning within a scope. Each document's metadata says what it is (id, type
 * or role, session, user), its score and why it matched (text and vector ranks).
 */
export class AgentmemRetriever extends BaseRetriever {
  override lc_namespace = ['agentmem', 'langchain', 'retrievers'];
  private readonly options: AgentmemRetrieverInput;

  constructor(input: AgentmemRetrieverInput) {
    super(input);
    this.options = input;
  }

  override async _getRelevantDocuments(query: string): Promise<Document[]> {
    const { memory, scope = {}, source = 'memories', k = 4, mode = 'hybrid', around = 0 } = this.options;
    const docs: { doc: Document; score: number }[] = [];
    const why = (h: RecallMatch) => ({
      score: h.score,
      ...(h.textRank ? { textRank: h.textRank } : {}),
      ...(h.vectorRank ? { vectorRank: h.vectorRank } : {}),
    });
    if (source !== 'messages') {
      for (const h of (await memory.memories.search(query, { scope, k, mode })).hits) {
        const m = h.memory;
        const text = typeof m.content === 'string' ? m.content : JSON.stringify(m.content);
        docs.push({
          score: h.score,
          doc: new Document({
            id: m.id,
            pageContent: text,
            metadata: {
              source: 'memory',
              id: m.id,
              type: m.type,
              sessionId: m.sessionId,
              userId: m.userId,
              createdAt: m.createdAt.toISOString(),
              ...why(h),
            },
          }),
        });
      }
    }
    if (source !== 'memories') {
      for (const h of (await memory.sessions.searchMessages(query, { scope, k, mode, around })).hits) {
        const turns = h.context ?? [h.message];
        docs.push({
          score: h.score,
          doc: new Document({
            id: h.message.id,
            pageContent: turns.map((t) => (turns.length > 1 ? `${t.role}: ${contentText(t.content)}` : contentText(t.content))).join('\n'),
            metadata: {
              source: 'message',
              id: h.message.id,
              role: h.message.role,
              sessionId: h.message.sessionId,
              seq: h.message.seq,
              createdAt: h.message.createdAt.toISOString(),
              ...why(h),
            },
          }),
        });
      }
    }
    return docs
      .sort((a, b) => b.score - a.score)
      .slice(0, k)
      .map((d) => d.doc);
  }
}
