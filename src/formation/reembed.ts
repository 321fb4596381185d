/**
 * Re-embedding memories and messages with another model, without a moment
 * where search compares two models' vectors or answers from none: the new
 * vectors are computed into a staging table (resumable: a run picks up where
 * the last one stopped), while every search keeps answering from the old
 * ones; then one transaction switches them in, with a new version each, so
 * replication carries them. Rows written meanwhile with the old model go back
 * to the backlog in the same transaction, for the worker with the new model.
 */
import { clock } from '../core/hlc.js';
import { checkedVectors, type Embedder } from '../memory/index.js';
import { embeddingTextOf } from '../memory/recall/embedding-text.js';
import type { Provider } from '../providers/index.js';

export interface ReembedOptions {
  schema: string;
  batchSize?: number;
  /** After each batch: rows staged so far and in all. */
  onProgress?: (done: number, total: number) => void;
  /** Stage the new vectors only; switch on a later run. */
  stageOnly?: boolean;
}

export interface ReembedReport {
  model: string;
  dimensions: number;
  /** Rows to re-embed, and how many of them earlier runs had staged already. */
  total: number;
  alreadyStaged: number;
  staged: number;
  /** Rows switched to the new vectors (0 with stageOnly), and rows sent back to the backlog. */
  switched: number;
  requeued: number;
}

export async function reembedMemories(provider: Provider, embedder: Embedder, options: ReembedOptions): Promise<ReembedReport> {
  const s = options.schema;
  const batchSize = options.batchSize ?? 256;
  // What needs a new vector: every live row embedded by another model or dimension.
  const stale = `m.embedding IS NOT NULL AND m.deleted_at IS NULL AND m.namespace IS NULL
      AND (m.embedding_model IS DISTINCT FROM $1 OR m.embedding_dim IS DISTINCT FROM $2)`;
  const needing = `FROM ${s}.memories m WHERE ${stale}`;
  const unstaged = `AND NOT EXISTS (SELECT 1 FROM ${s}.embedding_staging st
      WHERE st.model = $1 AND st.dim = $2 AND st.tenant_id = m.tenant_id AND st.id = m.id)`;
  const params = [embedder.model, embedder.dimensions];
  const count = async (where: string) =>
    Number((await provider.query<{ n: string }>(`SELECT count(*)::text AS n ${needing} ${where}`, params)).rows[0]?.n ?? 0);
  const total = await count('');
  const alreadyStaged = total - (await count(unstaged));
  let staged = 0;
  options.onProgress?.(alreadyStaged, total);
  for (;;) {
    const { rows } = await provider.query<{ tenant_id: string; id: string; content: unknown }>(
      `SELECT m.tenant_id, m.id::text AS id, m.content ${needing} ${unstaged} ORDER BY m.tenant_id, m.id LIMIT $3`,
      [...params, batchSize],
    );
    if (!rows.length) break;
    const vectors = checkedVectors(await embedder.embed(rows.map((r) => embeddingTextOf(r.content))), rows.length, embedder);
    await provider.query(
      `INSERT INTO ${s}.embedding_staging (model, dim, tenant_id, id, embedding)
       SELECT $1, $2, v.tenant_id, v.id, v.embedding FROM jsonb_to_recordset($3::jsonb) AS v(tenant_id text, id uuid, embedding real[])
       ON CONFLICT DO NOTHING`,
      [...params, JSON.stringify(rows.map((r, i) => ({ tenant_id: r.tenant_id, id: r.id, embedding: vectors[i] })))],
    );
    staged += rows.length;
    options.onProgress?.(alreadyStaged + staged, total);
  }
  const report = { model: embedder.model, dimensions: embedder.dimensions, total, alreadyStaged, staged, switched: 0, requeued: 0 };
  if (options.stageOnly) return report;
  return provider.transaction(async (tx) => {
    // Derived data, outside the change history (as the worker writes it).
    await tx.query("SELECT set_config('agentmem.replicating', 'on', true)");
    const version = clock.now().toString();
    const switched = await tx.query(
      `UPDATE ${s}.memories m SET embedding = st.embedding, embedding_model = st.model, embedding_dim = st.dim, version = $3, origin = $4
         FROM ${s}.embedding_staging st
        WHERE st.model = $1 AND st.dim = $2 AND st.tenant_id = m.tenant_id AND st.id = m.id
          AND m.deleted_at IS NULL AND (m.embedding_model IS DISTINCT FROM $1 OR m.embedding_dim IS DISTINCT FROM $2)`,
      [...params, version, provider.name],
    );
    // Embedded with the old model after staging began: back to the backlog, never left to mix with the new vectors.
    const requeued = await tx.query(
      `UPDATE ${s}.memories m SET embedding = NULL, embedding_model = NULL, embedding_dim = NULL, version = $3, origin = $4 WHERE ${stale}`,
      [...params, version, provider.name],
    );
    await tx.query(`DELETE FROM ${s}.embedding_staging WHERE model = $1`, [embedder.model]);
    return { ...report, switched: switched.rowCount, requeued: requeued.rowCount };
  });
}
