import { EmbeddingMismatchError } from '../../errors/index.js';
import type { Queryable } from '../../providers/index.js';

/**
 * Refuse to compare or mix vectors of two models: when memories or messages
 * were embedded by another model or dimension than `embedder`, an
 * EmbeddingMismatchError that names both and the fix. Two probes of one
 * index (migration 0023), across tenants where the connection sees them.
 */
export async function checkEmbeddingModel(tx: Queryable, schema: string, embedder: { model: string; dimensions: number }): Promise<void> {
  // The index's first and last entries: when both are the configured model and dimension, every entry is.
  // An ordered probe reads an index's first row whatever the statistics say; a condition like "any other
  // model" would be planned as a scan of every embedded row, on every check.
  const end = (order: 'ASC' | 'DESC') =>
    `(SELECT embedding_model, embedding_dim FROM ${schema}.memories
       WHERE embedding IS NOT NULL AND namespace IS NULL
       ORDER BY embedding_model ${order}, embedding_dim ${order} LIMIT 1)`;
  const { rows: ends } = await tx.query<{ embedding_model: string | null; embedding_dim: number | null }>(
    `${end('ASC')} UNION ALL ${end('DESC')}`,
  );
  const rows = ends.filter((r) => r.embedding_model !== embedder.model || Number(r.embedding_dim) !== embedder.dimensions);
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
