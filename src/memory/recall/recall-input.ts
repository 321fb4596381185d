/** What a search by meaning takes: one scope model (user → agent → session, within the store's tenant), a query, how many, how. */
import { z } from 'zod';
import { MEMORY_TYPES } from '../../core/enums.js';
import { MESSAGE_ROLES } from '../sessions/message-model.js';
import { cleanText, identifier, timestamp, uuid } from '../validation.js';

/** Whose memory: any of a user, an agent (the sessions it ran), a session — within the store's tenant. An id given is never blank. */
export const scopeSchema = z
  .object({
    userId: identifier.optional(),
    agentId: identifier.optional(),
    sessionId: uuid.optional(),
  })
  .strict();
export type Scope = z.input<typeof scopeSchema>;

export const searchQuery = cleanText(2000).refine((v) => v.trim().length > 0, 'must not be empty or blank');

const common = {
  scope: scopeSchema.default({}),
  /** How many hits (1–1,000). */
  k: z.number().int().min(1).max(1000).default(10),
  /** `text`: full-text rank; `vector`: by meaning (the embedder's); `hybrid`: both, fused by reciprocal rank. */
  mode: z.enum(['text', 'vector', 'hybrid']).default('hybrid'),
  /** Only hits scoring at least this (text rank, cosine similarity, or the fused score, by mode). */
  minScore: z.number().finite().optional(),
};

export const memorySearchSchema = z
  .object({
    ...common,
    /** Which memory types (default: every type that is not a message). */
    types: z.array(z.enum(MEMORY_TYPES)).min(1).optional(),
    /** The facts current at this time (created by then, not yet superseded then). */
    asOf: timestamp.optional(),
    /** Superseded facts too (by default only the current ones). */
    includeSuperseded: z.boolean().default(false),
  })
  .strict();
export type MemorySearchOptions = z.input<typeof memorySearchSchema>;

export const messageSearchSchema = z
  .object({
    ...common,
    /** Which speakers (default: every role). */
    roles: z.array(z.enum(MESSAGE_ROLES)).min(1).optional(),
    /** The messages before and after each hit in its session, up to this many each side (0–50, default 0). */
    around: z.number().int().min(0).max(50).default(0),
  })
  .strict();
export type MessageSearchOptions = z.input<typeof messageSearchSchema>;
