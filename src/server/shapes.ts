import { z } from 'zod';
import { REMEMBERED_TYPES } from '../core/enums.js';
import { ERROR_CODES } from '../errors/index.js';
import { MESSAGE_ROLES } from '../memory/index.js';

/**
 * What the API answers, as JSON (times are ISO strings). Requests are the
 * library's own input schemas (memory/schemas.ts); these describe responses,
 * and the OpenAPI document is generated from both.
 */
export const time = z.iso.datetime({ offset: true });
export const json = z.unknown();
export const object = z.record(z.string(), z.unknown());

export const sessionOut = z.object({
  id: z.uuid(),
  agentId: z.string().nullable(),
  userId: z.string().nullable(),
  title: z.string().nullable(),
  metadata: object,
  startedAt: time,
  endedAt: time.nullable(),
  externalId: z.string().nullable(),
});

export const messageOut = z.object({
  id: z.uuid(),
  sessionId: z.uuid(),
  role: z.enum(MESSAGE_ROLES),
  content: z.union([z.string(), z.array(object)]),
  metadata: object,
  createdAt: time,
  seq: z.number().int().min(0),
  name: z.string().optional(),
  toolCalls: z.array(z.object({ id: z.string(), name: z.string(), arguments: json })).optional(),
  toolCallId: z.string().optional(),
  externalId: z.string().optional(),
  extra: object.optional(),
});

export const memoryOut = z.object({
  id: z.uuid(),
  type: z.enum(REMEMBERED_TYPES),
  content: json,
  metadata: object,
  sessionId: z.uuid().nullable(),
  userId: z.string().nullable(),
  importance: z.number(),
  createdAt: time,
  expiresAt: time.nullable(),
  validTo: time.nullable(),
  supersedes: z.uuid().nullable(),
  supersededBy: z.uuid().nullable(),
  duplicateOf: z.uuid().nullable(),
  rank: z.number().optional(),
});

export const atomOut = z.looseObject({ id: z.uuid(), atomId: z.string(), atomType: z.string(), title: z.string(), createdAt: time });

export const settingOut = z.object({
  category: z.string(),
  key: z.string(),
  value: json,
  description: z.string().nullable(),
  updatedAt: time,
});

/** The codes a problem carries: the library's error codes, and the server's own. */
export const PROBLEM_CODES = [...ERROR_CODES, 'UNAUTHORIZED', 'FORBIDDEN', 'RATE_LIMITED', 'TOO_LARGE', 'BAD_REQUEST', 'INTERNAL'] as const;

export const problem = z.looseObject({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string(),
  code: z.enum(PROBLEM_CODES),
});

/** Why a search hit matched: its score and its rank in each leg that found it. */
const why = {
  score: z.number(),
  textRank: z.number().int().optional(),
  vectorRank: z.number().int().optional(),
  similarity: z.number().optional(),
};
export const memoryHitOut = z.object({ memory: memoryOut, ...why });
export const messageHitOut = z.object({ message: messageOut, context: z.array(messageOut).optional(), ...why });
export const recallOut = <T extends z.ZodType>(hit: T) =>
  z.object({ mode: z.enum(['text', 'vector', 'hybrid']), hits: z.array(hit), degraded: z.literal('embedder').optional() });
export const contextOut = z.object({
  text: z.string(),
  tokens: z.number().int(),
  turns: z.array(messageOut),
  memories: z.array(memoryHitOut),
  knowledge: z.array(z.looseObject({ atom: atomOut, score: z.number() })),
  degraded: z.literal('embedder').optional(),
});

export const workingMemoryOut = z.object({
  scope: z.union([z.object({ userId: z.string() }), z.object({ sessionId: z.string() })]),
  content: z.union([z.string(), object]).nullable(),
  tokens: z.number().int(),
  updatedAt: z.string().nullable(),
});

export const extractionOut = z.object({
  sessionId: z.string(),
  status: z.enum(['extracted', 'nothing', 'busy', 'raced']),
  messages: z.number().int(),
  added: z.array(z.string()),
  superseded: z.array(z.object({ id: z.string(), by: z.string() })),
  duplicates: z.array(z.string()),
});

export const summaryOut = z.object({
  sessionId: z.string(),
  status: z.enum(['summarized', 'nothing', 'busy', 'raced']),
  id: z.string().optional(),
  messages: z.number().int(),
});

export const list = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item) });
