import { z } from 'zod';
import { ATOM_ID_PATTERN_SOURCE, ATOM_TYPES, DIFFICULTY_LEVELS, SAFETY_LEVELS } from '../../core/enums.js';
import { dimensionsProblem, vectorProblem } from '../../core/vectors.js';
import { ValidationError } from '../../errors/index.js';
import { checkJson, checkSize, cleanText, cleanUrl, jsonObject, timestamp } from '../validation.js';

/** `prefix:slug` or `manufacturer:product:topic-slug`: the pattern of the knowledge_atoms_atom_id_check constraint. */
export const ATOM_ID_PATTERN = new RegExp(ATOM_ID_PATTERN_SOURCE);
export const atomId = z
  .string()
  .max(300)
  .regex(ATOM_ID_PATTERN, 'must look like prefix:slug or manufacturer:product:topic-slug (letters, digits, - _ . /)');

const shortText = cleanText(500);

/**
 * One validator for knowledge atoms; its enums are the ones the database
 * CHECK constraints are generated from. Accepts the field names of the system
 * we replace (snake_case) as well as camelCase.
 */
export const atomSchema = z
  .object({
    atomId,
    atomType: z.enum(ATOM_TYPES),
    title: cleanText(500).min(1, 'must not be empty'),
    summary: cleanText(5000).optional(),
    content: cleanText(1_000_000).min(1, 'must not be empty'),
    manufacturer: shortText.optional(),
    productFamily: shortText.optional(),
    productVersion: shortText.optional(),
    difficulty: z.enum(DIFFICULTY_LEVELS).optional(),
    prerequisites: z.array(atomId).max(200).default([]),
    relatedAtoms: z.array(atomId).max(200).default([]),
    sourceDocument: cleanText(1000).optional(),
    sourcePages: cleanText(200).optional(),
    sourceUrl: cleanUrl(2000).optional(),
    qualityScore: z.number().min(0).max(1).optional(),
    safetyLevel: z.enum(SAFETY_LEVELS).optional(),
    safetyNotes: cleanText(5000).optional(),
    keywords: z.array(cleanText(200)).max(200).default([]),
    citations: z
      .array(z.union([cleanText(2000), jsonObject]))
      .max(500)
      .default([]),
    metadata: jsonObject.default({}),
    createdAt: timestamp.optional(),
    lastValidatedAt: timestamp.optional(),
    /**
     * The atom's embedding, when the caller has it (an export from another store, vectors
     * computed elsewhere): stored as given instead of asking the embedder. It must come from
     * the configured embedder's model — search compares it with that model's query vectors.
     */
    embedding: z
      .custom<number[]>()
      .superRefine((v, ctx) => {
        const problem = vectorProblem(v);
        if (problem) ctx.addIssue({ code: 'custom', message: `must be a list of finite 4-byte floats: ${problem}` });
      })
      .optional()
      // Checked by a loop, not per element by zod (100k atoms × 1,536 numbers); this is what the API document shows.
      .meta({ type: 'array', items: { type: 'number' }, description: "the atom's embedding, from the configured embedder's model" }),
  })
  .strict();

export type AtomInput = z.input<typeof atomSchema>;
export type Atom = z.output<typeof atomSchema>;

const camel = (key: string) => key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** snake_case keys → camelCase; nulls dropped (the system we replace wrote NULL for "absent"). */
export function normaliseAtomInput(input: unknown): unknown {
  if (!input || typeof input !== 'object' || Array.isArray(input)) return input;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) {
    if (value === null) continue;
    out[camel(key)] = value;
  }
  // source_pages is often a number or a list in the wild.
  if (typeof out.sourcePages === 'number') out.sourcePages = String(out.sourcePages);
  if (Array.isArray(out.sourcePages)) out.sourcePages = out.sourcePages.join(',');
  return out;
}

export interface AtomIssue {
  field: string;
  message: string;
}

/**
 * Validate one atom — its shape, and what the shape cannot see: clean JSON in
 * metadata and citations and, given `maxBytes`, its size. The one check that
 * `atoms validate`, `atoms import` and `atoms.upsert()` share, so they agree.
 * `dimensions` (the embedder's) checks a given embedding's length.
 */
export function validateAtom(
  input: unknown,
  options: { maxBytes?: number; dimensions?: number } = {},
): { ok: true; atom: Atom } | { ok: false; issues: AtomIssue[] } {
  const result = atomSchema.safeParse(normaliseAtomInput(input));
  if (!result.success) {
    return { ok: false, issues: result.error.issues.map((i) => ({ field: i.path.join('.') || '(atom)', message: i.message })) };
  }
  try {
    checkJson(result.data.metadata, 'metadata');
    checkJson(result.data.citations, 'citations');
    if (options.maxBytes !== undefined) checkSize({ ...result.data, embedding: undefined }, '(atom)', options.maxBytes);
    // Its numbers were checked by the schema; only its size is left.
    const problem =
      result.data.embedding && options.dimensions !== undefined && dimensionsProblem(result.data.embedding.length, options.dimensions);
    if (problem) return { ok: false, issues: [{ field: 'embedding', message: `${problem} (the embedder's)` }] };
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    return { ok: false, issues: [{ field: String(error.details.field ?? '(atom)'), message: error.message }] };
  }
  return { ok: true, atom: result.data };
}
