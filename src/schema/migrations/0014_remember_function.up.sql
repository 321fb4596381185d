-- remember() as a function: the statement is long (dedupe lookup,
-- insert, revive on conflict, near-duplicate link), and sent as an unnamed
-- statement the server parsed, analysed and planned it on every call — half
-- the time of a remember. Inside PL/pgSQL it is parsed once per connection and
-- its plan is cached. Same statement, same contract as memories.ts sent it:
-- an exact duplicate (by content hash, among the user's current facts) is
-- returned as existing_id; otherwise the row is inserted (or a forgotten or
-- superseded fact under a derived id is made current again) and returned as
-- stored_id, with its near-duplicate link; nothing comes back when the id is
-- taken by a current memory (a retry, or the same fact).
CREATE FUNCTION {{schema}}.remember_memory(
  p_tenant text, p_id uuid, p_session uuid, p_user text, p_type text, p_content jsonb, p_metadata jsonb,
  p_importance real, p_created_at timestamptz, p_expires_at timestamptz, p_version bigint, p_origin text,
  p_hash text, p_derived boolean, p_embedding real[], p_embedding_model text, p_embedding_dim integer,
  p_window integer, p_max_distance double precision
) RETURNS TABLE (existing_id uuid, stored_id uuid, duplicate_of uuid)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
  RETURN QUERY
  WITH who AS (
    SELECT coalesce(p_user, (SELECT s.user_id FROM {{schema}}.sessions s WHERE s.tenant_id = p_tenant AND s.id = p_session)) AS user_id
  ), existing AS (
    SELECT m.id FROM {{schema}}.memories m, who
     -- By the hash alone (it holds tenant and type): a tenant_id or deleted_at IS NULL condition
     -- would let the planner pick a tenant-led or live-rows index and walk it when its statistics
     -- do not know the tenant yet (so the two are written in forms no index answers).
     WHERE p_hash IS NOT NULL AND m.content_hash = p_hash AND (m.tenant_id || '') = p_tenant
       AND m.user_id IS NOT DISTINCT FROM who.user_id AND coalesce(m.deleted_at, m.valid_to) IS NULL AND m.id <> p_id
     LIMIT 1
  ), ins AS (
    INSERT INTO {{schema}}.memories AS t
      (tenant_id, id, session_id, user_id, memory_type, content, metadata, importance, created_at, expires_at, version, origin,
       content_hash, embedding, embedding_model, embedding_dim, duplicate_of)
    SELECT p_tenant, p_id, p_session, who.user_id, p_type, p_content, p_metadata, p_importance, p_created_at, p_expires_at,
           p_version, p_origin, p_hash, p_embedding, p_embedding_model, p_embedding_dim,
           CASE WHEN p_embedding IS NULL THEN NULL ELSE
             (SELECT n.id FROM {{schema}}.nearest_memory(p_tenant, p_type, who.user_id, p_embedding, p_window) n
               WHERE n.distance <= p_max_distance AND n.id <> p_id)
           END
      FROM who WHERE NOT EXISTS (SELECT 1 FROM existing)
    -- The same fact remembered again after it was forgotten or superseded is current again.
    ON CONFLICT (tenant_id, id) DO UPDATE
      SET session_id = EXCLUDED.session_id, user_id = EXCLUDED.user_id, memory_type = EXCLUDED.memory_type,
          content = EXCLUDED.content, metadata = EXCLUDED.metadata, importance = EXCLUDED.importance,
          created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at, version = EXCLUDED.version,
          origin = EXCLUDED.origin, content_hash = EXCLUDED.content_hash, embedding = EXCLUDED.embedding,
          embedding_model = EXCLUDED.embedding_model, embedding_dim = EXCLUDED.embedding_dim,
          duplicate_of = EXCLUDED.duplicate_of, supersedes = NULL, superseded_by = NULL, valid_to = NULL, deleted_at = NULL
      WHERE p_derived AND (t.deleted_at IS NOT NULL OR t.valid_to IS NOT NULL)
    RETURNING t.id, t.duplicate_of
  )
  SELECT (SELECT e.id FROM existing e), (SELECT i.id FROM ins i), (SELECT i.duplicate_of FROM ins i);
END
$$;
