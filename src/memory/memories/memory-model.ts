/** What a typed memory is, what remember and recall take (with a fast path for ordinary input), and how a memory is read from its row. */
import { z } from 'zod';
import { MEMORY_TYPES, type MemoryType, REMEMBERED_TYPES } from '../../core/enums.js';
import { fromRow, type View } from '../../core/views.js';
import {
  cleanText,
  identifier,
  isBoringObject,
  isUuidText,
  isValidDate,
  jsonObject,
  jsonObjectCopy,
  timestamp,
  uuid,
} from '../validation.js';

export interface Memory {
  id: string;
  type: MemoryType;
  content: unknown;
  metadata: Record<string, unknown>;
  sessionId: string | null;
  userId: string | null;
  importance: number;
  createdAt: Date;
  expiresAt: Date | null;
  /** When this fact stopped being true: set when a newer memory superseded it. */
  validTo: Date | null;
  /** The memory this one replaced (`supersedes` at write time). */
  supersedes: string | null;
  /** The memory that replaced this one. */
  supersededBy: string | null;
  /** A current memory this one nearly repeats (embedding similarity above dedupe.near.threshold at write time). */
  duplicateOf: string | null;
  /** Full-text rank when recalled by `text`. */
  rank?: number;
}

export const rememberInput = z
  .object({
    id: uuid.optional(),
    type: z.enum(REMEMBERED_TYPES),
    content: z.unknown().refine((v) => v !== undefined, 'is required'),
    metadata: jsonObject.optional(),
    sessionId: uuid.optional(),
    userId: identifier.optional(),
    importance: z.number().min(0).max(1).optional(),
    createdAt: timestamp.optional(),
    expiresAt: timestamp.optional(),
    /** A current memory this one replaces: it gets validTo and stays in the history; reads return this one. */
    supersedes: uuid.optional(),
  })
  .strict();
export type RememberInput = z.input<typeof rememberInput>;
export type Parsed = z.output<typeof rememberInput>;

/** A memory's content and metadata as JSON text: what the size checks measured, and what the inserts send. */
export interface RowJson {
  content: string;
  metadata: string;
}

const MEMORY_TYPE_SET: ReadonlySet<unknown> = new Set(REMEMBERED_TYPES);
/** rememberInput's fields, in its order (the order zod's output has them in). */
const REMEMBER_FIELDS = ['id', 'type', 'content', 'metadata', 'sessionId', 'userId', 'importance', 'createdAt', 'expiresAt', 'supersedes'];
const REMEMBER_FIELD_SET: ReadonlySet<string> = new Set(REMEMBER_FIELDS);

/**
 * rememberInput's output for a memory with nothing unusual about it, without
 * zod's walk of the schema (run cold, between round trips, that walk is tens
 * of µs: a tenth of a write). Undefined for anything it does not vouch for:
 * zod then gives the verdict, and any error, itself. A unit test holds the
 * two to the same verdicts.
 */
export function plainMemory(input: unknown): Parsed | undefined {
  if (!isBoringObject(input)) return undefined;
  for (const key in input) if (!REMEMBER_FIELD_SET.has(key)) return undefined;
  if (!MEMORY_TYPE_SET.has(input.type) || input.content === undefined) return undefined;
  const out: Record<string, unknown> = {};
  for (const field of REMEMBER_FIELDS) {
    const value = input[field];
    if (value === undefined) continue;
    switch (field) {
      case 'id':
      case 'sessionId':
      case 'supersedes':
        if (!isUuidText(value)) return undefined;
        out[field] = value;
        break;
      case 'userId':
        if (!identifier.safeParse(value).success) return undefined;
        out[field] = value;
        break;
      case 'metadata': {
        const copy = jsonObjectCopy(value);
        if (!copy) return undefined;
        out[field] = copy;
        break;
      }
      case 'importance':
        if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 1) return undefined;
        out[field] = value;
        break;
      case 'createdAt':
      case 'expiresAt':
        if (!isValidDate(value)) return undefined;
        out[field] = value;
        break;
      default: // type (checked above), content (anything but undefined)
        out[field] = value;
    }
  }
  return out as Parsed;
}

export const recallFilter = z
  .object({
    types: z.array(z.enum(MEMORY_TYPES)).min(1).optional(),
    sessionId: uuid.optional(),
    userId: identifier.optional(),
    text: cleanText(1000).optional(),
    since: timestamp.optional(),
    until: timestamp.optional(),
    minImportance: z.number().min(0).max(1).optional(),
    limit: z.number().int().min(1).max(10_000).default(20),
    /** The memories as they were at this time (from the change history): the facts true then. */
    asOf: timestamp.optional(),
    /** Also facts a newer memory superseded (default: current facts only). */
    includeSuperseded: z.boolean().default(false),
  })
  .strict();
export type RecallFilter = z.input<typeof recallFilter>;

/** What a write did: stored a new memory, or found it already there (an exact duplicate: nothing stored). */
export interface RememberOutcome {
  id: string;
  /** The content was already remembered (same tenant, type, user and normalised content): `id` is that memory's. */
  duplicate: boolean;
  /** Stored, but nearly repeats this current memory (linked as duplicateOf). */
  nearDuplicateOf: string | null;
}

/** How the memory API reads a typed memory (the registry's types convert each value). */
export const MEMORY_VIEW: View = {
  table: 'memories',
  fields: {
    id: 'id',
    type: 'memory_type',
    content: 'content',
    metadata: 'metadata',
    sessionId: 'session_id',
    userId: 'user_id',
    importance: 'importance',
    createdAt: 'created_at',
    expiresAt: 'expires_at',
    validTo: 'valid_to',
    supersedes: 'supersedes',
    supersededBy: 'superseded_by',
    duplicateOf: 'duplicate_of',
  },
  absent: 'null',
  defaults: { metadata: {} },
};

export function toMemory(row: Record<string, unknown>): Memory {
  return { ...(fromRow(MEMORY_VIEW, row) as unknown as Memory), ...(row.rank === undefined ? {} : { rank: Number(row.rank) }) };
}

/** The text a memory is embedded by: its string, or its JSON. */
export const embeddingText = (content: unknown) => (typeof content === 'string' ? content : JSON.stringify(content));
