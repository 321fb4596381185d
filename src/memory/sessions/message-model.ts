import { z } from 'zod';
import { idForKey } from '../../core/ids.js';
import { fromRow, type View } from '../../core/views.js';
import { ValidationError } from '../../errors/index.js';
import {
  checkJson,
  checkSize,
  cleanText,
  isBoringObject,
  isNonEmptyCleanText,
  isUuidText,
  isValidDate,
  jsonObject,
  jsonObjectCopy,
  parseInput,
  timestamp,
  uuid,
} from '../validation.js';

/**
 * A transcript message as OpenAI, Anthropic and LangChain transcripts carry it:
 * roles including tool and developer, a speaker's name, content as text or an
 * array of parts, assistant tool calls and the call a tool message answers, the
 * framework's own id, and the fields of a framework's format agentmem has no
 * field for (`extra`, per format, verbatim).
 */
export const MESSAGE_ROLES = ['user', 'assistant', 'system', 'tool', 'developer'] as const;
export type MessageRole = (typeof MESSAGE_ROLES)[number];
export const roleToType = (role: MessageRole) => `message_${role}` as const;

/** The formats whose own fields a message can keep in `extra`. */
export const MESSAGE_FORMATS = ['openai', 'anthropic', 'langchain'] as const;
export type MessageFormat = (typeof MESSAGE_FORMATS)[number];

export interface ToolCall {
  id: string;
  name: string;
  /** As given: an object (Anthropic's input, LangChain's args) or OpenAI's JSON text, kept as that text. */
  arguments: unknown;
}

/** A part of a message's content (text, an image or file reference, a tool use or result), kept as given. */
export type ContentPart = { type: string } & Record<string, unknown>;
export type MessageContent = string | ContentPart[];

export interface Message {
  id: string;
  sessionId: string;
  role: MessageRole;
  content: MessageContent;
  metadata: Record<string, unknown>;
  createdAt: Date;
  /**
   * Index in the session's transcript, from 0: the rank of the message in the
   * order every provider agrees on (see `Sessions`). A message acknowledged
   * before a failover but replicated after it takes its place in that order,
   * so the indexes of later messages can grow by one when it arrives.
   */
  seq: number;
  /** Who spoke (a user's or a tool's name), when the transcript says. */
  name?: string;
  /** An assistant message's tool calls. */
  toolCalls?: ToolCall[];
  /** A tool message: the id of the tool call it answers. */
  toolCallId?: string;
  /** The framework's own id of the message (any string), unique in the session. */
  externalId?: string;
  /** Fields of a format agentmem has no field for, per format, verbatim: an export to that format gives them back. */
  extra?: Partial<Record<MessageFormat, Record<string, unknown>>>;
}

const shortText = cleanText(1000).pipe(z.string().min(1, 'must not be empty'));
const toolCall = z.object({ id: shortText, name: shortText, arguments: z.unknown() }).strict();
const contentPart = z.looseObject({ type: cleanText(100).pipe(z.string().min(1)) });

export const messageInput = z
  .object({
    id: uuid.optional(),
    role: z.enum(MESSAGE_ROLES),
    content: z.union([z.string(), z.array(contentPart).max(10_000)]),
    name: shortText.optional(),
    toolCalls: z.array(toolCall).max(1000).optional(),
    toolCallId: shortText.optional(),
    externalId: shortText.optional(),
    extra: z.partialRecord(z.enum(MESSAGE_FORMATS), jsonObject).optional(),
    metadata: jsonObject.optional(),
    createdAt: timestamp.optional(),
  })
  .strict()
  .superRefine((m, ctx) => {
    if (m.toolCalls?.length && m.role !== 'assistant')
      ctx.addIssue({ code: 'custom', path: ['toolCalls'], message: 'only an assistant message makes tool calls' });
    if (m.role === 'tool' && !m.toolCallId)
      ctx.addIssue({ code: 'custom', path: ['toolCallId'], message: 'a tool message must say which tool call it answers' });
    if (m.toolCallId && m.role !== 'tool')
      ctx.addIssue({ code: 'custom', path: ['toolCallId'], message: 'only a tool message answers a tool call' });
  });
export type MessageInput = z.input<typeof messageInput>;
export type CheckedMessage = z.output<typeof messageInput> & { id: string };

/**
 * The id of the message a framework calls `externalId` in this session: the
 * same on every provider and every retry. Not salted with the tenant (rows are
 * keyed by tenant and id), so a session copied to another tenant keeps its ids.
 */
export function messageIdFor(sessionId: string, externalId: string): string {
  return idForKey('', 'message', `${sessionId}\u0000${externalId}`);
}

/** The id of the session a framework calls `externalId` (a thread id, a conversation key). */
export function sessionIdFor(externalId: string): string {
  return idForKey('', 'session', externalId);
}

const ROLE_SET: ReadonlySet<unknown> = new Set(MESSAGE_ROLES);
const FORMAT_SET: ReadonlySet<string> = new Set(MESSAGE_FORMATS);
/** messageInput's fields, in its order (the order zod's output has them in). */
const MESSAGE_FIELDS = [
  'id',
  'role',
  'content',
  'name',
  'toolCalls',
  'toolCallId',
  'externalId',
  'extra',
  'metadata',
  'createdAt',
] as const;
const MESSAGE_FIELD_SET: ReadonlySet<string> = new Set(MESSAGE_FIELDS);
const TOOL_CALL_FIELD_SET: ReadonlySet<string> = new Set(['id', 'name', 'arguments']);

/** shortText's verdict without zod. */
const isShortText = (value: unknown): value is string => isNonEmptyCleanText(value, 1000);

/**
 * messageInput's output for a message with nothing unusual about it, without
 * zod's walk of the schema — that walk was a fifth to a quarter of
 * addMessage's CPU for an assistant turn with tool calls (run cold, between
 * round trips). Undefined for anything it does not vouch for: zod then gives
 * the verdict, and any error, itself. Copies what zod copies (content parts,
 * tool calls, extra, metadata), so the output never shares an object zod's
 * would not. A unit test holds the two to the same verdicts.
 */
export function plainMessage(input: unknown): z.output<typeof messageInput> | undefined {
  if (!isBoringObject(input)) return undefined;
  for (const key in input) if (!MESSAGE_FIELD_SET.has(key)) return undefined;
  const { id, role, content, name, toolCalls, toolCallId, externalId, extra, metadata, createdAt } = input;
  if (!ROLE_SET.has(role)) return undefined;
  const out: Record<string, unknown> = {};
  if (id !== undefined) {
    if (!isUuidText(id)) return undefined;
    out.id = id;
  }
  out.role = role;
  if (typeof content === 'string') out.content = content;
  else if (Array.isArray(content) && Object.getPrototypeOf(content) === Array.prototype && content.length <= 10_000) {
    const parts: Record<string, unknown>[] = [];
    for (const part of content) {
      if (!isBoringObject(part)) return undefined;
      const type = part.type;
      if (!isNonEmptyCleanText(type, 100)) return undefined;
      parts.push({ type, ...part });
    }
    out.content = parts;
  } else return undefined;
  if (name !== undefined) {
    if (!isShortText(name)) return undefined;
    out.name = name;
  }
  if (toolCalls !== undefined) {
    if (role !== 'assistant' || !Array.isArray(toolCalls) || Object.getPrototypeOf(toolCalls) !== Array.prototype) return undefined;
    if (toolCalls.length > 1000) return undefined;
    const calls: Record<string, unknown>[] = [];
    for (const call of toolCalls) {
      if (!isBoringObject(call) || !('arguments' in call)) return undefined;
      for (const key in call) if (!TOOL_CALL_FIELD_SET.has(key)) return undefined;
      if (!isShortText(call.id) || !isShortText(call.name)) return undefined;
      calls.push({ id: call.id, name: call.name, arguments: call.arguments });
    }
    out.toolCalls = calls;
  }
  if (toolCallId !== undefined) {
    if (role !== 'tool' || !isShortText(toolCallId)) return undefined;
    out.toolCallId = toolCallId;
  } else if (role === 'tool') return undefined;
  if (externalId !== undefined) {
    if (!isShortText(externalId)) return undefined;
    out.externalId = externalId;
  }
  if (extra !== undefined) {
    if (!isBoringObject(extra)) return undefined;
    const copy: Record<string, unknown> = {};
    for (const format in extra) {
      if (!FORMAT_SET.has(format)) return undefined;
      const fields = jsonObjectCopy(extra[format]);
      if (!fields) return undefined;
      copy[format] = fields;
    }
    out.extra = copy;
  }
  if (metadata !== undefined) {
    const copy = jsonObjectCopy(metadata);
    if (!copy) return undefined;
    out.metadata = copy;
  }
  if (createdAt !== undefined) {
    if (!isValidDate(createdAt)) return undefined;
    out.createdAt = createdAt;
  }
  return out as z.output<typeof messageInput>;
}

/** A message's shape, as messageInput says (see plainMessage for the common messages). */
export function parseMessage(input: unknown, where: string): z.output<typeof messageInput> {
  return plainMessage(input) ?? parseInput(messageInput, input, where);
}

const JSON_FIELDS = ['content', 'toolCalls', 'extra', 'metadata'] as const;

/** The JSON text of a checked message's fields, as the size check measured it: sent as is, not serialised again. */
export type MessageJson = Partial<Record<(typeof JSON_FIELDS)[number], string>>;

/**
 * Check a message before any SQL: its shape, clean JSON everywhere, the size
 * limit, and its id — given, derived from its external id, or new.
 */
export function checkMessage(
  input: unknown,
  where: string,
  context: { sessionId: string; maxBytes: number; newId: () => string },
  json?: MessageJson,
): CheckedMessage {
  const message = parseMessage(input, where);
  for (const field of JSON_FIELDS) {
    if (message[field] === undefined) continue;
    // extra and metadata are JSON objects the shape already walked (jsonObject); content and tool calls' arguments are not.
    if (field === 'content' || field === 'toolCalls') checkJson(message[field], `${where}.${field}`);
    const text = checkSize(message[field], `${where}.${field}`, context.maxBytes);
    if (json) json[field] = text;
  }
  let id = message.id;
  if (message.externalId !== undefined) {
    const derived = messageIdFor(context.sessionId, message.externalId);
    if (id !== undefined && id !== derived)
      throw new ValidationError(`invalid ${where}: id and externalId name different messages (give one of them)`, {
        field: `${where}.id`,
      });
    id = derived;
  }
  // The parse's own object (plainMessage's or zod's copy), completed in place: the same keys, in the same order, as a copy.
  message.id = id ?? context.newId();
  return message as CheckedMessage;
}

/** The columns a message's own fields go to (in the order add_message and the batch insert take them). */
export function messageColumns(m: CheckedMessage) {
  return {
    name: m.name ?? null,
    tool_calls: m.toolCalls?.length ? m.toolCalls : null,
    tool_call_id: m.toolCallId ?? null,
    external_id: m.externalId ?? null,
    extra: m.extra && Object.keys(m.extra).length ? m.extra : null,
  };
}

/** How the memory API reads a message (the registry's types convert each value). */
export const MESSAGE_VIEW: View = {
  table: 'memories',
  fields: {
    id: 'id',
    sessionId: 'session_id',
    memoryType: 'memory_type',
    content: 'content',
    metadata: 'metadata',
    createdAt: 'created_at',
    name: 'name',
    toolCalls: 'tool_calls',
    toolCallId: 'tool_call_id',
    externalId: 'external_id',
    extra: 'extra',
  },
  absent: 'undefined',
  defaults: { metadata: {} },
};

/** A stored row as a Message: the optional fields only when the message has them. */
export function toMessage(row: Record<string, unknown>): Message {
  const { memoryType, ...message } = fromRow(MESSAGE_VIEW, row);
  return {
    ...(message as Omit<Message, 'role' | 'seq'>),
    role: String(memoryType).replace('message_', '') as MessageRole,
    seq: Number(row.seq),
  };
}

/**
 * The Message a new row holds, from what was sent (`own`: its messageColumns,
 * as the insert sent them): what toMessage makes of that row (a test holds the two equal), without the row. addMessage answers
 * with it on every call, where the generic row mapping was a measurable part
 * of the call's CPU.
 */
export function sentMessage(
  m: CheckedMessage,
  own: ReturnType<typeof messageColumns>,
  sessionId: string,
  createdAt: Date,
  seq: string | number,
): Message {
  // Fields in toMessage's order, so a message serialises the same either way.
  const message: Partial<Message> = { id: m.id, sessionId, content: m.content, metadata: m.metadata ?? {}, createdAt };
  if (own.name !== null) message.name = own.name;
  if (own.tool_calls !== null) message.toolCalls = own.tool_calls as ToolCall[];
  if (own.tool_call_id !== null) message.toolCallId = own.tool_call_id;
  if (own.external_id !== null) message.externalId = own.external_id;
  if (own.extra !== null) message.extra = own.extra;
  message.role = m.role;
  message.seq = Number(seq);
  return message as Message;
}

/** The text of a message's content, for token counting and display: parts' text joined, other parts as JSON. */
export function contentText(content: MessageContent): string {
  if (typeof content === 'string') return content;
  return content.map((part) => (typeof part.text === 'string' ? part.text : JSON.stringify(part))).join('\n');
}
