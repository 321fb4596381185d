import { viewColumns } from '../../core/views.js';
import { hasLongHistorySql } from '../recall/embedding-store.js';
import { MEMORY_VIEW } from './memory-model.js';

const COLUMNS = viewColumns(MEMORY_VIEW);

/** What remember's statements answer (remember_memory()'s columns), and `taken` when the plain statement leaves the write to the call. */
export interface RememberAnswer {
  existing_id: string | null;
  stored_id: string | null;
  duplicate_of: string | null;
  taken: boolean;
  /** The plain statement's answer holds the memory's columns too (see rememberSql). */
  id?: string | null;
}

/**
 * remember's statements. `callNear` and `call` are remember_memory()
 * (migrations 0014, 0018), with and without the embedding for near-duplicate
 * links: the user from the session when none is given, the lookup of an exact
 * duplicate by content hash, the insert, and when a derived id is taken by a
 * forgotten or superseded fact, that fact made current again. `plain` is the
 * call without an embedding as one plain statement, the function's steps as
 * CTEs: PL/pgSQL's call and its statements' own executor runs cost ~40 µs on
 * the server (as add_message()'s did, see sessions.ts). It answers `taken`
 * when a derived id is taken and nothing was written, for `call` to decide (a
 * given id that is taken is a retry, answered as the call answers it). Only
 * worth it prepared: planned on every call it is slower than the call.
 */
export interface RememberStatements {
  plain: string;
  plainRow: string;
  /** plain and plainRow storing the memory's embedding too ($15 real[], $16 model, $17 dimensions): inline embedding in one statement. */
  plainEmbedded: string;
  plainRowEmbedded: string;
  call: string;
  callNear: string;
}

export function rememberSql(schema: string): RememberStatements {
  // An embedded row joins the HNSW graph when its user has many rows (as storeEmbeddings decides).
  const inGraph = `CASE WHEN ${hasLongHistorySql(schema, '$1', 'u.user_id')} THEN true END`;
  const call = (near: string) =>
    `SELECT existing_id, stored_id, duplicate_of, false AS taken
       FROM ${schema}.remember_memory($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, ${near})`;
  // The lookup as remember_memory() writes it: by the hash alone (tenant_id || '' keeps the
  // planner off the tenant-led indexes).
  const steps = (returning: string, embedded = false) => `WITH u AS MATERIALIZED (
        SELECT coalesce($4::text, (SELECT s.user_id FROM ${schema}.sessions s WHERE s.tenant_id = $1::text AND s.id = $3::uuid)) AS user_id),
      dup AS MATERIALIZED (
        SELECT m.id FROM ${schema}.memories m, u
         WHERE m.content_hash = $13::text AND (m.tenant_id || '') = $1
           AND m.user_id IS NOT DISTINCT FROM u.user_id AND coalesce(m.deleted_at, m.valid_to) IS NULL AND m.id <> $2::uuid
         LIMIT 1),
      ins AS (
        INSERT INTO ${schema}.memories
          (tenant_id, id, session_id, user_id, memory_type, content, metadata, importance, created_at, expires_at, version, origin,
           content_hash, embedding, embedding_model, embedding_dim, duplicate_of, embedding_graph)
        SELECT $1, $2, $3, u.user_id, $5::text, $6::jsonb, $7::jsonb, $8::real, $9::timestamptz, $10::timestamptz, $11::bigint,
               $12::text, $13, ${embedded ? '$15::real[], $16::text, $17::integer' : 'NULL, NULL, NULL'}, NULL, ${embedded ? inGraph : 'NULL'}
          FROM u WHERE NOT EXISTS (SELECT FROM dup)
        ON CONFLICT (tenant_id, id) DO NOTHING
        RETURNING ${returning})`;
  const taken = '$14::boolean AND NOT EXISTS (SELECT FROM dup) AND NOT EXISTS (SELECT FROM ins) AS taken';
  const plain = (embedded: boolean) => `${steps('id', embedded)}
      SELECT (SELECT id FROM dup) AS existing_id, (SELECT id FROM ins) AS stored_id, NULL::uuid AS duplicate_of, ${taken}`;
  // For a caller that answers the memory (the HTTP API, MCP): the row as stored, or the one already
  // there, comes with the answer. Its duplicate_of is the answer's: a memory stored here links to no
  // near-duplicate (none is looked for). Returning the row costs the plain call about 8%, so only then.
  const plainRow = (embedded: boolean) => `${steps(COLUMNS, embedded)},
      stored AS (
        SELECT ${COLUMNS} FROM ins
        UNION ALL
        SELECT ${COLUMNS} FROM ${schema}.memories m WHERE m.tenant_id = $1 AND m.id = (SELECT id FROM dup))
      SELECT (SELECT id FROM dup) AS existing_id, (SELECT id FROM ins) AS stored_id, ${taken}, stored.*
        FROM (SELECT) answer LEFT JOIN stored ON true`;
  return {
    plain: plain(false),
    plainRow: plainRow(false),
    plainEmbedded: plain(true),
    plainRowEmbedded: plainRow(true),
    call: call('NULL, NULL, NULL, NULL, NULL'),
    callNear: call('$15, $16, $17, $18, $19'),
  };
}
