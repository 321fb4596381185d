import { z } from 'zod';
import { ATOM_TYPES, DIFFICULTY_LEVELS, SAFETY_LEVELS } from '../core/enums.js';
import type { Atom } from './atom-schema.js';
import { toDate, toDateOrNull } from './context.js';
import { cleanText, jsonObject } from './validation.js';

export interface StoredAtom extends Atom {
  id: string;
  createdAt: Date;
  lastValidatedAt: Date | undefined;
  embeddingModel: string | null;
  embeddingDim: number | null;
}

export const filterSchema = z
  .object({
    atomTypes: z.array(z.enum(ATOM_TYPES)).min(1).optional(),
    manufacturer: cleanText(500).optional(),
    productFamily: cleanText(500).optional(),
    difficulty: z.enum(DIFFICULTY_LEVELS).optional(),
    safetyLevels: z.array(z.enum(SAFETY_LEVELS)).min(1).optional(),
    minQuality: z.number().min(0).max(1).optional(),
    keywords: z.array(cleanText(200)).min(1).optional(),
    metadata: jsonObject.optional(),
  })
  .strict();
export type AtomFilter = z.input<typeof filterSchema>;

export const COLUMNS = `id, atom_id, atom_type, title, summary, content, manufacturer, product_family, product_version, difficulty,
  prerequisites, related_atoms, source_document, source_pages, source_url, quality_score, safety_level, safety_notes,
  keywords, citations, metadata, created_at, last_validated_at, embedding_model, embedding_dim`;

const opt = <T>(value: T | null | undefined): T | undefined => (value === null ? undefined : value);

export function toAtom(row: Record<string, unknown>): StoredAtom {
  return {
    id: String(row.id),
    atomId: String(row.atom_id),
    atomType: row.atom_type as Atom['atomType'],
    title: String(row.title),
    summary: opt(row.summary as string | null),
    content: String(row.content),
    manufacturer: opt(row.manufacturer as string | null),
    productFamily: opt(row.product_family as string | null),
    productVersion: opt(row.product_version as string | null),
    difficulty: opt(row.difficulty as Atom['difficulty'] | null),
    prerequisites: (row.prerequisites as string[]) ?? [],
    relatedAtoms: (row.related_atoms as string[]) ?? [],
    sourceDocument: opt(row.source_document as string | null),
    sourcePages: opt(row.source_pages as string | null),
    sourceUrl: opt(row.source_url as string | null),
    qualityScore: row.quality_score === null || row.quality_score === undefined ? undefined : Number(row.quality_score),
    safetyLevel: opt(row.safety_level as Atom['safetyLevel'] | null),
    safetyNotes: opt(row.safety_notes as string | null),
    keywords: (row.keywords as string[]) ?? [],
    citations: (row.citations as Atom['citations']) ?? [],
    metadata: (row.metadata as Record<string, unknown>) ?? {},
    createdAt: toDate(row.created_at),
    lastValidatedAt: toDateOrNull(row.last_validated_at) ?? undefined,
    embeddingModel: (row.embedding_model as string | null) ?? null,
    embeddingDim: row.embedding_dim === null || row.embedding_dim === undefined ? null : Number(row.embedding_dim),
  };
}

/** Parameterised WHERE fragments for the filters; `params` already holds the tenant as $1. */
export function filterSql(filter: z.output<typeof filterSchema>, params: unknown[]): string {
  const clauses = ['tenant_id = $1', 'deleted_at IS NULL'];
  const bind = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
  if (filter.atomTypes) clauses.push(`atom_type = ANY(${bind(filter.atomTypes)}::text[])`);
  if (filter.manufacturer) clauses.push(`manufacturer = ${bind(filter.manufacturer)}`);
  if (filter.productFamily) clauses.push(`product_family = ${bind(filter.productFamily)}`);
  if (filter.difficulty) clauses.push(`difficulty = ${bind(filter.difficulty)}`);
  if (filter.safetyLevels) clauses.push(`safety_level = ANY(${bind(filter.safetyLevels)}::text[])`);
  if (filter.minQuality !== undefined) clauses.push(`quality_score >= ${bind(filter.minQuality)}`);
  if (filter.keywords) clauses.push(`keywords && ${bind(filter.keywords)}::text[]`);
  if (filter.metadata) clauses.push(`metadata @> ${bind(JSON.stringify(filter.metadata))}::jsonb`);
  return clauses.join(' AND ');
}

/** An embedding as a Postgres array literal (real[]). */
export const pgArray = (values: number[]) => `{${values.join(',')}}`;

/** The text an atom is embedded from. */
export function embeddingText(atom: Pick<Atom, 'title' | 'summary' | 'content' | 'keywords'>): string {
  return [atom.title, atom.summary ?? '', atom.keywords.join(' '), atom.content].join('\n');
}

/** Reciprocal rank fusion: an atom found by either list scores; found by both, it scores more. */
