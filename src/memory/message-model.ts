import { z } from 'zod';
import { idForKey } from '../core/ids.js';
import { fromRow, type View } from '../core/tables.js';
import { ValidationError } from '../errors/index.js';
import { checkJson, checkSize, cleanText, jsonObject, parseInput, timestamp, uuid } from './validation.js';

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

/** Roles whose message needs nothing but text (a tool message must name the call it answers). */
const TEXT_ONLY_ROLES: ReadonlySet<unknown> = new Set(MESSAGE_ROLES.filter((role) => role !== 'tool'));

/**
 * A message's shape, as messageInput says. The common message — a plain object
 * of a role and text content, nothing else — is taken as it is: zod's walk of
 * the whole schema was a tenth to a fifth of addMessage's CPU (run cold,
 * between round trips).
 * Anything else goes through the schema (a unit test holds the two to the same
 * verdicts).
 */
export function parseMessage(input: unknown, where: string): z.output<typeof messageInput> {
  if (input !== null && typeof input === 'object' && Object.getPrototypeOf(input) === Object.prototype) {
    const keys = Object.keys(input);
    const { role, content } = input as { role?: unknown; content?: unknown };
    if (keys.length === 2 && 'role' in input && 'content' in input && TEXT_ONLY_ROLES.has(role) && typeof content === 'string')
      return { role: role as MessageRole, content };
  }
  return parseInput(messageInput, input, where);
}

/**
 * Check a message before any SQL: its shape, clean JSON everywhere, the size
 * limit, and its id — given, derived from its external id, or new.
 */
export function checkMessage(
  input: unknown,
  where: string,
  context: { sessionId: string; maxBytes: number; newId: () => string },
): CheckedMessage {
  const message = parseMessage(input, where);
  for (const field of ['content', 'toolCalls', 'extra', 'metadata'] as const) {
    if (message[field] === undefined) continue;
    checkJson(message[field], `${where}.${field}`);
    checkSize(message[field], `${where}.${field}`, context.maxBytes);
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
  return { ...message, id: id ?? context.newId() };
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
