import type { Message, MessageInput } from '../message-model.js';
import { fromAnthropic, toAnthropic } from './anthropic.js';
import { fromLangChain, toLangChain } from './langchain.js';
import { fromOpenAI, toOpenAI } from './openai.js';

export type { AnthropicTranscript } from './anthropic.js';
export type { StoredMessage } from './langchain.js';
export { fromAnthropic, fromLangChain, fromOpenAI, toAnthropic, toLangChain, toOpenAI };

/** The transcript formats a session exports to and imports from (besides agentmem's own). */
export const TRANSCRIPT_FORMATS = ['openai', 'anthropic', 'langchain'] as const;
export type TranscriptFormat = (typeof TRANSCRIPT_FORMATS)[number];

export function exportTranscript(format: TranscriptFormat, messages: Message[]) {
  if (format === 'openai') return toOpenAI(messages);
  if (format === 'anthropic') return toAnthropic(messages);
  return toLangChain(messages);
}

export function importTranscript(format: TranscriptFormat, data: unknown): MessageInput[] {
  if (format === 'openai') return fromOpenAI(data);
  if (format === 'anthropic') return fromAnthropic(data);
  return fromLangChain(data);
}
