import { z } from 'zod';
import { ATOM_TYPES, DIFFICULTY_LEVELS, SAFETY_LEVELS } from '../../core/enums.js';
import { fromRow, type View, viewColumns } from '../../core/views.js';
import { cleanText, jsonObject } from '../validation.js';
import type { Atom } from './input.js';

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

/** How the memory API reads knowledge_atoms (the registry's types convert each value). */
export const ATOM_VIEW: View = {
  table: 'knowledge_atoms',
  fields: {
    id: 'id',
    atomId: 'atom_id',
    atomType: 'atom_type',
    title: 'title',
    summary: 'summary',
    content: 'content',
    manufacturer: 'manufacturer',
    productFamily: 'product_family',
    productVersion: 'product_version',
    difficulty: 'difficulty',
    prerequisites: 'prerequisites',
    relatedAtoms: 'related_atoms',
    sourceDocument: 'source_document',
    sourcePages: 'source_pages',
    sourceUrl: 'source_url',
    qualityScore: 'quality_score',
    safetyLevel: 'safety_level',
    safetyNotes: 'safety_notes',
    keywords: 'keywords',
    citations: 'citations',
    metadata: 'metadata',
    createdAt: 'created_at',
    lastValidatedAt: 'last_validated_at',
    embeddingModel: 'embedding_model',
    embeddingDim: 'embedding_dim',
  },
  // The system we replace wrote NULL for "absent": optional fields are left out, lists and objects are empty.
  absent: 'undefined',
  defaults: { prerequisites: [], relatedAtoms: [], keywords: [], citations: [], metadata: {}, embeddingModel: null, embeddingDim: null },
};

export const COLUMNS = viewColumns(ATOM_VIEW);

export function toAtom(row: Record<string, unknown>): StoredAtom {
  return fromRow(ATOM_VIEW, row) as unknown as StoredAtom;
}

/** Parameterised WHERE fragments for the filters; `params` already holds the tenant as $1. */
export function filterSql(filter: z.output<typeof filterSchema>, params: unknown[], schema: string): string {
  // With metadata tokens to look up, the tenant is written (tenant_id || ''), which no index holds: the
  // planner otherwise ANDs the tokens' few hundred rows with the tenant's whole btree range (2.7 of a
  // 13 ms search at 100k atoms), since it cannot know how few rows the tokens find.
  const tokens = filter.metadata !== undefined && hasScalar(filter.metadata);
  const clauses = [tokens ? "(tenant_id || '') = $1" : 'tenant_id = $1', 'deleted_at IS NULL'];
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
  if (filter.metadata) {
    const metadata = bind(JSON.stringify(filter.metadata));
    // The index of migration 0021 finds the rows carrying every token of the filter (its tenant's
    // hashes of each scalar and its path), computed once per statement (the subquery); the filter
    // itself is then checked on each row found. A filter with no scalar in it has no tokens.
    if (tokens) {
      clauses.push(`metadata_tokens @> (SELECT ${schema}.metadata_tokens($1::text, ${metadata}::jsonb))`);
    }
    clauses.push(`metadata @> ${metadata}::jsonb`);
  }
  return clauses.join(' AND ');
}

/** Whether a JSON value holds a scalar anywhere (an empty object or array does not). */
function hasScalar(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return true;
  return Object.values(value).some(hasScalar);
}

/** The vector indexes of knowledge_atoms (one per tenant bucket, migration 0008), as a LIKE pattern on their names. */
export const VECTOR_INDEXES_LIKE = 'knowledge\\_atoms\\_embedding\\_hnsw\\_%';
/** The HNSW graph of one tenant bucket: the index's name, with the bucket's two-digit number (migration 0008). */
export const bucketGraph = (bucket: number) => `knowledge_atoms_embedding_hnsw_b${String(bucket).padStart(2, '0')}`;

/** An embedding as a Postgres array literal (real[]). */
export const pgArray = (values: number[]) => `{${values.join(',')}}`;

/** The text an atom is embedded from. */
export function embeddingText(atom: Pick<Atom, 'title' | 'summary' | 'content' | 'keywords'>): string {
  return [atom.title, atom.summary ?? '', atom.keywords.join(' '), atom.content].join('\n');
}

/** Reciprocal rank fusion: an atom found by either list scores; found by both, it scores more. */
