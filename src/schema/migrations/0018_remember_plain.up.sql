-- remember_memory as plain steps, as add_message is (0017): one
-- statement of CTEs (lookup, INSERT … SELECT … ON CONFLICT DO UPDATE …
-- RETURNING, three scalar reads of them) becomes a lookup by hash and a plain
-- INSERT … ON CONFLICT DO NOTHING; bringing a forgotten or superseded fact
-- back is the rare path, after an insert that found the id taken. Same
-- signature and contract as 0014: an exact duplicate (by content hash, among
-- the user's current facts) is returned as existing_id; otherwise the row is
-- inserted (or a forgotten or superseded fact under a derived id is made
-- current again) and returned as stored_id, with its near-duplicate link; all
-- three are null when the id is taken by a current memory (a retry, or the
-- same fact).
CREATE OR REPLACE FUNCTION {{schema}}.remember_memory(
  p_tenant text, p_id uuid, p_session uuid, p_user text, p_type text, p_content jsonb, p_metadata jsonb,
  p_importance real, p_created_at timestamptz, p_expires_at timestamptz, p_version bigint, p_origin text,
  p_hash text, p_derived boolean, p_embedding real[], p_embedding_model text, p_embedding_dim integer,
  p_window integer, p_max_distance double precision
) RETURNS TABLE (existing_id uuid, stored_id uuid, duplicate_of uuid)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_user text := p_user;
  v_existing uuid;
  v_duplicate uuid;
BEGIN
  IF v_user IS NULL AND p_session IS NOT NULL THEN
    SELECT s.user_id INTO v_user FROM {{schema}}.sessions s WHERE s.tenant_id = p_tenant AND s.id = p_session;
  END IF;
  IF p_hash IS NOT NULL THEN
    -- By the hash alone (it holds tenant and type): a tenant_id or deleted_at IS NULL condition
    -- would let the planner pick a tenant-led or live-rows index and walk it when its statistics
    -- do not know the tenant yet (so the two are written in forms no index answers).
    SELECT m.id INTO v_existing FROM {{schema}}.memories m
     WHERE m.content_hash = p_hash AND (m.tenant_id || '') = p_tenant
       AND m.user_id IS NOT DISTINCT FROM v_user AND coalesce(m.deleted_at, m.valid_to) IS NULL AND m.id <> p_id
     LIMIT 1;
    IF FOUND THEN
      existing_id := v_existing;
      RETURN NEXT;
      RETURN;
    END IF;
  END IF;
  IF p_embedding IS NOT NULL THEN
    v_duplicate := (SELECT n.id FROM {{schema}}.nearest_memory(p_tenant, p_type, v_user, p_embedding, p_window) n
                     WHERE n.distance <= p_max_distance AND n.id <> p_id);
  END IF;
  INSERT INTO {{schema}}.memories
    (tenant_id, id, session_id, user_id, memory_type, content, metadata, importance, created_at, expires_at, version, origin,
     content_hash, embedding, embedding_model, embedding_dim, duplicate_of)
  VALUES (p_tenant, p_id, p_session, v_user, p_type, p_content, p_metadata, p_importance, p_created_at, p_expires_at,
          p_version, p_origin, p_hash, p_embedding, p_embedding_model, p_embedding_dim, v_duplicate)
  ON CONFLICT (tenant_id, id) DO NOTHING;
  IF NOT FOUND AND p_derived THEN
    -- The id is taken. The same fact remembered again after it was forgotten or superseded is current again.
    UPDATE {{schema}}.memories AS t
       SET session_id = p_session, user_id = v_user, memory_type = p_type, content = p_content, metadata = p_metadata,
           importance = p_importance, created_at = p_created_at, expires_at = p_expires_at, version = p_version,
           origin = p_origin, content_hash = p_hash, embedding = p_embedding, embedding_model = p_embedding_model,
           embedding_dim = p_embedding_dim, duplicate_of = v_duplicate, supersedes = NULL, superseded_by = NULL,
           valid_to = NULL, deleted_at = NULL
     WHERE t.tenant_id = p_tenant AND t.id = p_id AND (t.deleted_at IS NOT NULL OR t.valid_to IS NOT NULL);
  END IF;
  IF FOUND THEN
    stored_id := p_id;
    duplicate_of := v_duplicate;
  END IF;
  RETURN NEXT;
END
$$;
