import { ValidationError } from '../../../errors/index.js';
import { MESSAGE_ROLES, type Message, type MessageInput, type MessageRole } from '../message-model.js';
import { contentOf, extraOf, isObject, type Json, ownFields, requireArray, requireObject, rest } from './shared.js';

/**
 * OpenAI chat-completions messages. What the format holds round-trips
 * exactly; fields agentmem has no field for (refusal, audio, annotations …)
 * are kept in `extra.openai`. An assistant message with no text is `null`
 * content there and an empty string here.
 */
export function toOpenAI(messages: Message[]): Json[] {
  return messages.map((m) => {
    const out: Json = { ...ownFields(m, 'openai'), role: m.role };
    out.content = m.role === 'assistant' && m.content === '' ? null : m.content;
    if (m.name !== undefined) out.name = m.name;
    if (m.toolCalls?.length) {
      out.tool_calls = m.toolCalls.map((call) => ({
        id: call.id,
        type: 'function',
        function: {
          name: call.name,
          arguments: typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments ?? {}),
        },
      }));
    }
    if (m.toolCallId !== undefined) out.tool_call_id = m.toolCallId;
    return out;
  });
}

const KNOWN = ['role', 'content', 'name', 'tool_calls', 'tool_call_id'];

export function fromOpenAI(data: unknown): MessageInput[] {
  return requireArray(data, 'OpenAI transcript').map((entry, i) => {
    const o = requireObject(entry, `OpenAI message ${i}`);
    const role = MESSAGE_ROLES.find((r) => r === o.role) as MessageRole | undefined;
    if (!role)
      throw new ValidationError(`invalid OpenAI message ${i}: role ${JSON.stringify(o.role)} is not one of ${MESSAGE_ROLES.join(', ')}`);
    const message: MessageInput = {
      role,
      content: o.content === null || o.content === undefined ? '' : contentOf(o.content, `OpenAI message ${i}`),
      ...extraOf('openai', rest(o, KNOWN)),
    };
    if (typeof o.name === 'string') message.name = o.name;
    if (typeof o.tool_call_id === 'string') message.toolCallId = o.tool_call_id;
    if (Array.isArray(o.tool_calls) && o.tool_calls.length) {
      message.toolCalls = o.tool_calls.map((call, j) => {
        const fn = isObject(call) && isObject(call.function) ? call.function : undefined;
        if (!isObject(call) || typeof call.id !== 'string' || typeof fn?.name !== 'string')
          throw new ValidationError(`invalid OpenAI message ${i}: tool_calls[${j}] needs an id and a function name`);
        return { id: call.id, name: fn.name, arguments: fn.arguments ?? '{}' };
      });
    }
    return message;
  });
}
