import { ValidationError } from '../../../errors/index.js';
import type { ContentPart, Message, MessageInput } from '../message-model.js';
import { argumentsObject, contentOf, extraOf, isObject, type Json, ownFields, requireArray, requireObject, rest } from './shared.js';

export interface AnthropicTranscript {
  system?: string | Json[];
  messages: Json[];
}

/**
 * Anthropic Messages API form: system and developer messages go to `system`
 * (a string for one, text blocks for several); an assistant's tool calls are
 * tool_use blocks after its content; tool messages are tool_result blocks,
 * consecutive ones in one user message. Names have no place in the format.
 */
export function toAnthropic(messages: Message[]): AnthropicTranscript {
  const instructions = messages.filter((m) => m.role === 'system' || m.role === 'developer');
  const out: Json[] = [];
  let toolResults: Json[] | undefined;
  for (const m of messages) {
    if (m.role === 'system' || m.role === 'developer') continue;
    if (m.role === 'tool') {
      const block = { ...ownFields(m, 'anthropic'), type: 'tool_result', tool_use_id: m.toolCallId, content: m.content };
      if (toolResults) toolResults.push(block);
      else {
        toolResults = [block];
        out.push({ role: 'user', content: toolResults });
      }
      continue;
    }
    toolResults = undefined;
    let content: unknown = m.content;
    if (m.toolCalls?.length) {
      const blocks: unknown[] = typeof m.content === 'string' ? (m.content ? [{ type: 'text', text: m.content }] : []) : [...m.content];
      for (const call of m.toolCalls)
        blocks.push({ type: 'tool_use', id: call.id, name: call.name, input: argumentsObject(call.arguments) });
      content = blocks;
    }
    out.push({ ...ownFields(m, 'anthropic'), role: m.role, content });
  }
  const transcript: AnthropicTranscript = { messages: out };
  if (instructions.length === 1) transcript.system = instructions[0]?.content as string | Json[];
  else if (instructions.length > 1)
    transcript.system = instructions.map((m) => ({
      type: 'text',
      text: typeof m.content === 'string' ? m.content : JSON.stringify(m.content),
    }));
  return transcript;
}

const isBlock = (value: unknown, type: string): value is Json => isObject(value) && value.type === type;

export function fromAnthropic(data: unknown): MessageInput[] {
  const transcript = requireObject(data, 'Anthropic transcript');
  const out: MessageInput[] = [];
  if (typeof transcript.system === 'string') out.push({ role: 'system', content: transcript.system });
  else if (Array.isArray(transcript.system)) {
    for (const block of transcript.system) {
      if (!isBlock(block, 'text') || typeof block.text !== 'string')
        throw new ValidationError('invalid Anthropic system: expected text blocks');
      out.push({ role: 'system', content: block.text });
    }
  }
  for (const [i, entry] of requireArray(transcript.messages, 'Anthropic messages').entries()) {
    const o = requireObject(entry, `Anthropic message ${i}`);
    if (o.role !== 'user' && o.role !== 'assistant')
      throw new ValidationError(`invalid Anthropic message ${i}: role must be user or assistant, not ${JSON.stringify(o.role)}`);
    const content = contentOf(o.content, `Anthropic message ${i}`);
    const extra = extraOf('anthropic', rest(o, ['role', 'content']));
    if (o.role === 'user' && Array.isArray(content) && content.some((b) => isBlock(b, 'tool_result'))) {
      const others: ContentPart[] = [];
      for (const block of content) {
        if (!isBlock(block, 'tool_result')) {
          others.push(block);
          continue;
        }
        if (typeof block.tool_use_id !== 'string')
          throw new ValidationError(`invalid Anthropic message ${i}: a tool_result needs a tool_use_id`);
        out.push({
          role: 'tool',
          toolCallId: block.tool_use_id,
          content: block.content === undefined ? '' : contentOf(block.content, `Anthropic message ${i} tool_result`),
          ...extraOf('anthropic', rest(block, ['type', 'tool_use_id', 'content'])),
        });
      }
      if (others.length) out.push({ role: 'user', content: others, ...extra });
      continue;
    }
    if (o.role === 'assistant' && Array.isArray(content) && content.some((b) => isBlock(b, 'tool_use'))) {
      const toolUses = content.filter((b) => isBlock(b, 'tool_use'));
      out.push({
        role: 'assistant',
        content: content.filter((b) => !isBlock(b, 'tool_use')),
        toolCalls: toolUses.map((b) => ({ id: String(b.id), name: String(b.name), arguments: b.input ?? {} })),
        ...extra,
      });
      continue;
    }
    out.push({ role: o.role, content, ...extra });
  }
  return out;
}
