import { isUuid } from '../../../core/ids.js';
import { ValidationError } from '../../../errors/index.js';
import type { Message, MessageInput, MessageRole } from '../message-model.js';
import { argumentsObject, contentOf, extraOf, isObject, type Json, ownFields, requireArray, requireObject, rest } from './shared.js';

/** LangChain's stored-message form: what `mapStoredMessagesToChatMessages` reads and `toDict()` writes. */
export interface StoredMessage {
  type: string;
  data: Json;
}

const TYPE_OF: Record<MessageRole, string> = { user: 'human', assistant: 'ai', system: 'system', tool: 'tool', developer: 'system' };
const ROLE_OF: Record<string, MessageRole> = { human: 'user', ai: 'assistant', system: 'system', tool: 'tool', developer: 'developer' };
/** How LangChain's OpenAI integration marks a system message as a developer message. */
const OPENAI_ROLE = '__openai_role__';

/**
 * LangChain stored messages. The message's id is its external id (or, without
 * one, agentmem's id); additional_kwargs, response_metadata, usage_metadata,
 * invalid_tool_calls, a tool message's artifact and status are kept in
 * `extra.langchain` and come back as they went in.
 */
export function toLangChain(messages: Message[]): StoredMessage[] {
  return messages.map((m) => {
    const data: Json = { ...ownFields(m, 'langchain'), content: m.content };
    data.id = m.externalId ?? m.id;
    if (m.name !== undefined) data.name = m.name;
    if (m.toolCalls?.length) {
      data.tool_calls = m.toolCalls.map((call) => ({
        id: call.id,
        name: call.name,
        args: argumentsObject(call.arguments),
        type: 'tool_call',
      }));
    }
    if (m.toolCallId !== undefined) data.tool_call_id = m.toolCallId;
    if (m.role === 'developer')
      data.additional_kwargs = { ...(isObject(data.additional_kwargs) ? data.additional_kwargs : {}), [OPENAI_ROLE]: 'developer' };
    return { type: TYPE_OF[m.role], data };
  });
}

const KNOWN = ['content', 'id', 'name', 'tool_calls', 'tool_call_id'];

export function fromLangChain(data: unknown): MessageInput[] {
  return requireArray(data, 'LangChain transcript').map((entry, i) => {
    const stored = requireObject(entry, `LangChain message ${i}`);
    if (stored.lc === 1 && stored.type === 'constructor')
      throw new ValidationError(
        `invalid LangChain message ${i}: this is LangChain's serialised class form; pass stored messages (toDict(), mapChatMessagesToStoredMessages)`,
      );
    const body = requireObject(stored.data, `LangChain message ${i} data`);
    let role = ROLE_OF[String(stored.type)];
    if (!role)
      throw new ValidationError(`invalid LangChain message ${i}: type ${JSON.stringify(stored.type)} is not human, ai, system or tool`);
    const fields = rest(body, KNOWN);
    const kwargs = isObject(fields.additional_kwargs) ? fields.additional_kwargs : undefined;
    if (role === 'system' && kwargs?.[OPENAI_ROLE] === 'developer') {
      role = 'developer';
      const { [OPENAI_ROLE]: _, ...others } = kwargs;
      fields.additional_kwargs = others;
    }
    const message: MessageInput = { role, content: contentOf(body.content, `LangChain message ${i}`), ...extraOf('langchain', fields) };
    if (typeof body.id === 'string') {
      // A UUID is taken as the message's own id, so agentmem's exports come back as the same rows.
      if (isUuid(body.id)) message.id = body.id.toLowerCase();
      else message.externalId = body.id;
    }
    if (typeof body.name === 'string') message.name = body.name;
    if (typeof body.tool_call_id === 'string') message.toolCallId = body.tool_call_id;
    if (Array.isArray(body.tool_calls) && body.tool_calls.length) {
      message.toolCalls = body.tool_calls.map((call, j) => {
        if (!isObject(call) || typeof call.id !== 'string' || typeof call.name !== 'string')
          throw new ValidationError(`invalid LangChain message ${i}: tool_calls[${j}] needs an id and a name`);
        return { id: call.id, name: call.name, arguments: call.args ?? {} };
      });
    }
    return message;
  });
}
