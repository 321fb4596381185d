import { ATOM_ID_PATTERN_SOURCE, ATOM_TYPES, DIFFICULTY_LEVELS, MEMORY_TYPES, MESSAGE_TYPES, SAFETY_LEVELS } from '../core/enums.js';
import { TENANT_BUCKETS } from '../core/tenant-bucket.js';

// The lists live in core/ (the memory API validates with them); the migrations render them from here.
export * from '../core/enums.js';

const sqlList = (values: readonly string[]): string => values.map((v) => `'${v.replace(/'/g, "''")}'`).join(', ');

/** The dimension of the built-in local embedder, and the default indexed dimension. */
export const DEFAULT_EMBEDDING_DIM = 384;

/**
 * Vector indexes per table: each tenant's rows go to one of this many HNSW
 * graphs (migration 0008). The memory API computes the same bucket (tenantBucket in core/).
 */
export { TENANT_BUCKETS };

/** Values substituted into migration templates. */
export function templateValues(schema: string, embeddingDim: number = DEFAULT_EMBEDDING_DIM): Record<string, string> {
  if (!Number.isInteger(embeddingDim) || embeddingDim < 1 || embeddingDim > 16000)
    throw new Error(`invalid embedding dimension ${embeddingDim}`);
  return {
    schema,
    embedding_dim: String(embeddingDim),
    tenant_buckets: String(TENANT_BUCKETS),
    memory_types: sqlList(MEMORY_TYPES),
    message_types: sqlList(MESSAGE_TYPES),
    atom_types: sqlList(ATOM_TYPES),
    difficulty_levels: sqlList(DIFFICULTY_LEVELS),
    safety_levels: sqlList(SAFETY_LEVELS),
    atom_id_pattern: `'${ATOM_ID_PATTERN_SOURCE}'`,
  };
}
