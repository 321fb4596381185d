import type { Message } from './sessions.js';

export interface ContextWindowOptions {
  /** Tokens in one message; default ≈ 4 characters a token plus 4 for the message frame. */
  tokenCounter?: (message: Message) => number;
}

export const approximateTokens = (message: Message): number => Math.ceil(message.content.length / 4) + 4;

/**
 * Keep every system message, then as many of the newest other messages as fit
 * in what is left of `maxTokens`; return them in their original order.
 */
export function selectContextWindow(messages: Message[], maxTokens: number, options: ContextWindowOptions = {}): Message[] {
  const count = options.tokenCounter ?? approximateTokens;
  const system = messages.filter((m) => m.role === 'system');
  let budget = maxTokens - system.reduce((sum, m) => sum + count(m), 0);
  const kept = new Set<Message>(system);
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i] as Message;
    if (message.role === 'system') continue;
    const cost = count(message);
    if (cost > budget) break;
    budget -= cost;
    kept.add(message);
  }
  return messages.filter((m) => kept.has(m));
}

/** OpenAI chat-completions messages. */
export function toOpenAI(messages: Message[]): { role: 'user' | 'assistant' | 'system'; content: string }[] {
  return messages.map((m) => ({ role: m.role, content: m.content }));
}

const LANGCHAIN_CLASS = { user: 'HumanMessage', assistant: 'AIMessage', system: 'SystemMessage' } as const;

/** LangChain's serialised message form (what `load()` in langchain-core reads). */
export function toLangChain(messages: Message[]) {
  return messages.map((m) => ({
    lc: 1,
    type: 'constructor',
    id: ['langchain_core', 'messages', LANGCHAIN_CLASS[m.role]],
    kwargs: {
      content: m.content,
      id: m.id,
      additional_kwargs: {},
      response_metadata: {},
      ...(Object.keys(m.metadata).length ? { additional_kwargs: { metadata: m.metadata } } : {}),
    },
  }));
}
