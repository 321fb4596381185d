import { ValidationError } from '../../../errors/index.js';
import type { ContentPart, Message, MessageContent, MessageFormat, MessageInput } from '../message-model.js';

export type Json = Record<string, unknown>;

export const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The entries of `o` whose keys are not in `known`: a format's own fields, kept in `extra`. */
export function rest(o: Json, known: readonly string[]): Json {
  return Object.fromEntries(Object.entries(o).filter(([key]) => !known.includes(key)));
}

/** `extra` for one format, left out when there is nothing to keep. */
export function extraOf(format: MessageFormat, fields: Json): Pick<MessageInput, 'extra'> {
  return Object.keys(fields).length ? { extra: { [format]: fields } } : {};
}

/** A message's own fields of `format`, to spread under the fields agentmem owns. */
export const ownFields = (m: Message, format: MessageFormat): Json => m.extra?.[format] ?? {};

export function requireArray(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new ValidationError(`invalid ${what}: expected an array`);
  return value;
}

export function requireObject(value: unknown, what: string): Json {
  if (!isObject(value)) throw new ValidationError(`invalid ${what}: expected an object`);
  return value;
}

/** Content as a format carries it: a string or an array of parts (checked in detail when stored). */
export function contentOf(value: unknown, what: string): MessageContent {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value as ContentPart[];
  throw new ValidationError(`invalid ${what}: content must be a string or an array of parts`);
}

/**
 * Tool-call arguments as an object, for the formats that hold them so
 * (Anthropic's `input`, LangChain's `args`): OpenAI's JSON text is parsed; text
 * that is not JSON is kept under `arguments`.
 */
export function argumentsObject(args: unknown): unknown {
  if (typeof args !== 'string') return args ?? {};
  try {
    return JSON.parse(args);
  } catch {
    return { arguments: args };
  }
}
