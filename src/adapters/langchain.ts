/**
 * agentmem/langchain — a LangChain chat message history kept in agentmem.
 *
 * @example
 * import { createMemory } from 'agentmem';
 * import { AgentmemChatMessageHistory } from 'agentmem/langchain';
 * const memory = await createMemory({ tenant: 'acme' });
 * const history = new AgentmemChatMessageHistory({ memory, sessionId: 'thread-42' });
 * await history.addMessages([new HumanMessage('hi'), new AIMessage('hello')]);
 *
 * Every field LangChain keeps comes back as it went in: the message types
 * (human, ai with tool_calls, tool with tool_call_id, system, developer), ids,
 * names, multimodal content, additional_kwargs, response_metadata,
 * usage_metadata, a tool message's artifact and status. `@langchain/core` is a
 * peer dependency: install it beside agentmem.
 */
import { BaseListChatMessageHistory } from '@langchain/core/chat_history';
import { type BaseMessage, mapChatMessagesToStoredMessages, mapStoredMessagesToChatMessages } from '@langchain/core/messages';
import { fromLangChain, type SessionInput, type StoredMessage, toLangChain } from '../memory/index.js';
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
