import { z } from 'zod';
import { MESSAGE_TYPES } from '../../core/enums.js';
import { idForKey } from '../../core/ids.js';
import { fromRow, type View } from '../../core/views.js';
import { cleanText, identifier, jsonObject, timestamp, uuid } from '../validation.js';
import { TRANSCRIPT_FORMATS } from './formats/index.js';
import { MESSAGE_ROLES } from './message-model.js';

/** What a session is, what creating, listing and saving one take, and how it is read from its row. */
export interface Session {
  id: string;
  agentId: string | null;
  userId: string | null;
  title: string | null;
  metadata: Record<string, unknown>;
  startedAt: Date;
  endedAt: Date | null;
  /** The framework's own id of the session (a thread id), unique in the tenant; the id derives from it. */
  externalId: string | null;
}

/** A session's current summary: its text and the range of messages it covers. */
export interface SessionSummary {
  id: string;
  text: string;
  fromMessage: string | null;
  throughMessage: string | null;
  /** How many messages it covers. */
  messages: number;
  createdAt: Date;
}

export const sessionInput = z
  .object({
    id: uuid.optional(),
    agentId: identifier.optional(),
    userId: identifier.optional(),
    title: cleanText(1000).optional(),
    metadata: jsonObject.optional(),
    startedAt: timestamp.optional(),
    endedAt: timestamp.nullable().optional(),
    externalId: cleanText(1000).pipe(z.string().min(1, 'must not be empty')).optional(),
  })
  .strict();
export type SessionInput = z.input<typeof sessionInput>;

/** What save() takes, checked before anything else looks inside it. */
export const saveInput = z.object({ session: z.record(z.string(), z.unknown()), messages: z.array(z.unknown()).max(100_000) }).strict();

/** The transcript formats export() writes and importTranscript() reads. */
export const EXPORT_FORMATS = [...TRANSCRIPT_FORMATS, 'agentmem'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export const sessionFilter = z
  .object({
    agentId: identifier.optional().describe("only this agent's sessions"),
    userId: identifier.optional().describe("only this user's sessions"),
    since: timestamp.optional().describe('only sessions started at or after this time'),
    until: timestamp.optional().describe('only sessions started before this time'),
    active: z.boolean().optional().describe('true: only sessions not ended; false: only ended ones'),
    limit: z.number().int().min(1).max(10_000).default(50).describe('at most this many, newest first'),
  })
  .strict();
export type SessionFilter = z.input<typeof sessionFilter>;

export const messagesFilter = z
  .object({
    limit: z.number().int().min(1).max(100_000).optional().describe('the newest this many (all when absent), oldest first'),
    before: timestamp.optional().describe('only messages created before this time'),
    role: z.enum(MESSAGE_ROLES).optional().describe('only messages of this role'),
    asOf: timestamp.optional().describe('the transcript as it was at this time (from the change history)'),
  })
  .strict();
export type MessagesFilter = z.input<typeof messagesFilter>;

/** How the memory API reads a session and a message (the registry's types convert each value). */
export const SESSION_VIEW: View = {
  table: 'sessions',
  fields: {
    id: 'id',
    agentId: 'agent_id',
    userId: 'user_id',
    title: 'title',
    metadata: 'metadata',
    startedAt: 'started_at',
    endedAt: 'ended_at',
    externalId: 'external_id',
  },
  absent: 'null',
  defaults: { metadata: {} },
};
/** A message without an id of its own, imported into a session: its id is its place, so a re-import is the same message. */
export const placeId = (sessionId: string, index: number) => idForKey('', 'imported-message', `${sessionId}\u0000${index}`);

/** An exported session as create()/save() input: the fields only the database sets left out. */
export function stripSessionOutput(session: Record<string, unknown>): SessionInput & { id: string } {
  const { id, agentId, userId, title, metadata, startedAt, endedAt, externalId } = session;
  const out: Record<string, unknown> = { id };
  for (const [key, value] of Object.entries({ agentId, userId, title, metadata, startedAt, endedAt, externalId }))
    if (value !== null && value !== undefined) out[key] = value;
  return out as SessionInput & { id: string };
}

/** An exported message as input: its index and session are the database's. */
export function stripMessageOutput(message: unknown): unknown {
  if (typeof message !== 'object' || message === null) return message;
  const { seq: _seq, sessionId: _session, ...input } = message as Record<string, unknown>;
  return input;
}

/** The message types as an SQL list, for `memory_type IN (…)`. */
export const MESSAGE_TYPE_LIST = MESSAGE_TYPES.map((t) => `'${t}'`).join(', ');

export function toSession(row: Record<string, unknown>): Session {
  return fromRow(SESSION_VIEW, row) as unknown as Session;
}
