import type { Queryable } from '../../providers/index.js';

/**
 * Store embeddings of memories and messages where the row still has none and
 * still lives, with a new version (replication copies them like any column:
 * computed once, where they were written) and outside the change history (an
 * embedding derives from the content the history holds). The embedding worker
 * and inline embedding both store through here. Returns the rows stored.
 */
export async function storeEmbeddings(
  tx: Queryable,
  schema: string,
  rows: { tenant_id: string; id: string }[],
  vectors: number[][],
  embedder: { model: string; dimensions: number },
  version: string,
  origin: string,
): Promise<number> {
  await tx.query("SELECT set_config('agentmem.replicating', 'on', true)");
  const { rowCount } = await tx.query(
    `UPDATE ${schema}.memories m
        SET embedding = v.embedding, embedding_model = $2, embedding_dim = $3, version = $4, origin = $5
       FROM jsonb_to_recordset($1::jsonb) AS v(tenant_id text, id uuid, embedding real[])
      WHERE m.tenant_id = v.tenant_id AND m.id = v.id AND m.embedding IS NULL AND m.deleted_at IS NULL`,
    [
      JSON.stringify(rows.map((r, i) => ({ tenant_id: r.tenant_id, id: r.id, embedding: vectors[i] }))),
      embedder.model,
      embedder.dimensions,
      version,
      origin,
    ],
  );
  return rowCount;
}
