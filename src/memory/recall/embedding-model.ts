import { EmbeddingMismatchError } from '../../errors/index.js';
import type { Queryable } from '../../providers/index.js';

/**
 * Refuse to compare or mix vectors of two models: when memories or messages
 * were embedded by another model or dimension than `embedder`, an
 * EmbeddingMismatchError that names both and the fix. One index probe
 * (migration 0023), across tenants where the connection sees them.
 */
export async function checkEmbeddingModel(tx: Queryable, schema: string, embedder: { model: string; dimensions: number }): Promise<void> {
  const { rows } = await tx.query<{ embedding_model: string | null; embedding_dim: number | null }>(
    `SELECT embedding_model, embedding_dim FROM ${schema}.memories
      WHERE embedding IS NOT NULL AND namespace IS NULL
        AND (embedding_model IS DISTINCT FROM $1 OR embedding_dim IS DISTINCT FROM $2)
      LIMIT 1`,
    [embedder.model, embedder.dimensions],
  );
  const other = rows[0];
  if (!other) return;
  throw new EmbeddingMismatchError(
    `memories and messages were embedded with ${other.embedding_model} (${other.embedding_dim} dimensions) but the configured embedder is ` +
      `${embedder.model} (${embedder.dimensions}): configure the embedder they were embedded with, or clear their embeddings to embed them again ` +
      '(agentmem embeddings status shows what waits)',
    {
      stored: other.embedding_model,
      storedDim: Number(other.embedding_dim),
      configured: embedder.model,
      configuredDim: embedder.dimensions,
    },
  );
}
