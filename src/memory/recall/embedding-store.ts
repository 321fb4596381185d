import { realArrayBinary } from '../../core/vectors.js';
import type { Queryable } from '../../providers/index.js';

/** A row to store an embedding on; `ctid` when the caller read it in the writer's table (the embedding worker's claim). */
export interface EmbeddingTarget {
  tenant_id: string;
  id: string;
  ctid?: string;
}

/**
 * A user's rows join the memories' HNSW graph once the user has this many
 * (of any type, embedded or not): below it, ranking all of a user's rows
 * exactly takes about a millisecond, and a row kept out of the graph costs no
 * insertion into it (most of an embedding's cost to store). The rows embedded
 * before are ranked exactly beside the graph's walk: about this many, however
 * large the history grows.
 */
export const GRAPH_AFTER_ROWS = 1000;

/**
 * Whether a user has GRAPH_AFTER_ROWS rows or more, in SQL (each argument an
 * SQL expression): a count that stops there, on the user's index.
 */
export function hasLongHistorySql(schema: string, tenant: string, user: string): string {
  return `((SELECT count(*) FROM (SELECT FROM ${schema}.memories x WHERE x.tenant_id = ${tenant} AND x.user_id = ${user}
             LIMIT ${GRAPH_AFTER_ROWS}) c) >= ${GRAPH_AFTER_ROWS})`;
}

/** The planner settings the store turns off for its one statement, so that only a TID scan is left to find the rows. */
const OTHER_SCANS = ['enable_seqscan', 'enable_bitmapscan', 'enable_indexscan'];

/**
 * Store embeddings of memories and messages where the row still has none and
 * still lives, with a new version (replication copies them like any column:
 * computed once, where they were written) and outside the change history (an
 * embedding derives from the content the history holds). The embedding worker
 * and inline embedding both store through here. Returns the rows stored.
 *
 * The statement leaves the planner nothing to choose: each row is found by its
 * tuple id and takes its vector by its position in the batch, from one binary
 * real[] of them all. A join with the batch by key would be planned from the
 * table's statistics, and for a backlog that grew faster than ANALYZE runs (an
 * import, a worker catching up, the embedded database, which never analyzes by
 * itself) that plan is a scan of every waiting row for each batch. A row found at a tuple id that no longer holds it (it was updated
 * since it was claimed) is skipped, and taken again by a later pass.
 */
export async function storeEmbeddings(
  tx: Queryable,
  schema: string,
  rows: EmbeddingTarget[],
  vectors: number[][],
  embedder: { model: string; dimensions: number },
  version: string,
  origin: string,
): Promise<number> {
  if (!rows.length) return 0;
  const ctids = rows.every((r) => r.ctid !== undefined) ? rows.map((r) => r.ctid as string) : await tupleIds(tx, schema, rows);
  // The batch's users with many rows (planned before the scans are turned off, in the same statement):
  // their rows join the HNSW graph.
  const { rows: before } = await tx.query<Record<string, string> & { graph_tenants: string[] | null; graph_users: string[] | null }>(
    `SELECT set_config('agentmem.replicating', 'on', true), ${OTHER_SCANS.map((s) => `current_setting('${s}') AS ${s}, set_config('${s}', 'off', true)`).join(', ')},
            g.tenants AS graph_tenants, g.users AS graph_users
       FROM (SELECT array_agg(b.tenant_id) AS tenants, array_agg(b.user_id) AS users
               FROM (SELECT DISTINCT m.tenant_id, m.user_id FROM ${schema}.memories m WHERE m.ctid = ANY($1::tid[]) AND m.user_id IS NOT NULL) b
              WHERE ${hasLongHistorySql(schema, 'b.tenant_id', 'b.user_id')}) g`,
    [ctids],
  );
  const dim = embedder.dimensions;
  // $1 the vectors, $2 the tuple ids, $3 the ids, $4 the tenants: a row's position in them picks its vector.
  const position = 'array_position($2::tid[], m.ctid)';
  const { rowCount } = await tx.query(
    `UPDATE ${schema}.memories m
        SET embedding = ($1::real[])[(${position} - 1) * ${dim} + 1 : ${position} * ${dim}],
            embedding_model = $5, embedding_dim = ${dim}, version = $6, origin = $7,
            embedding_graph = CASE WHEN EXISTS (SELECT FROM unnest($8::text[], $9::text[]) g(t, u) WHERE g.t = m.tenant_id AND g.u = m.user_id) THEN true END
      WHERE m.ctid = ANY($2::tid[]) AND m.id = ($3::uuid[])[${position}] AND m.tenant_id = ($4::text[])[${position}]
        AND m.embedding IS NULL AND m.deleted_at IS NULL`,
    [
      realArrayBinary(vectors.flat()),
      ctids,
      rows.map((r) => r.id),
      rows.map((r) => r.tenant_id),
      embedder.model,
      version,
      origin,
      before[0]?.graph_tenants ?? [],
      before[0]?.graph_users ?? [],
    ],
  );
  await tx.query(
    `SELECT ${OTHER_SCANS.map((s, i) => `set_config('${s}', $${i + 1}, true)`).join(', ')}`,
    OTHER_SCANS.map((s) => before[0]?.[s] ?? 'on'),
  );
  return rowCount;
}

/**
 * The rows' tuple ids on this provider, in their order (a row not found gets
 * none, and is not stored): one primary-key probe per row, which no estimate
 * makes the planner trade for a scan of the tenant.
 */
async function tupleIds(tx: Queryable, schema: string, rows: EmbeddingTarget[]): Promise<string[]> {
  const { rows: found } = await tx.query<{ ctid: string | null }>(
    `SELECT (SELECT m.ctid::text FROM ${schema}.memories m WHERE m.tenant_id = u.t AND m.id = u.i) AS ctid
       FROM unnest($1::text[], $2::uuid[]) WITH ORDINALITY AS u(t, i, n)
      ORDER BY u.n`,
    [rows.map((r) => r.tenant_id), rows.map((r) => r.id)],
  );
  // A missing row's slot keeps its place with a tuple id no row has.
  return found.map((f) => f.ctid ?? '(0,0)');
}
