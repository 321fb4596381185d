-- Memory that is kept well: facts that change, no duplicates,
-- retention, and erasure that stays erased.
--
-- 1. Facts that change: a memory may supersede another. The old one gets
--    valid_to (when it stopped being true) and superseded_by; it stays, and so
--    does its history. Reads return current facts unless asked as of a time.
-- 2. No duplicates: content_hash is the hash of a memory's tenant, type and
--    normalised content (computed by the library: core/content-hash.ts),
--    indexed alone: see there why the lookup names no other indexed column. A memory written without
--    an id gets one derived from (tenant, type, user, hash), so the same fact
--    written twice — on one provider or on two — is one row, with no unique
--    index for replication to violate. duplicate_of links a near-duplicate
--    (by embedding similarity) to the memory it repeats.
-- 3. The erasure ledger: what `agentmem erase` removed (a tenant, or a user or
--    a session in it), up to which version. It replicates like any row and is
--    never rewound by a restore; a restore applies it to what it brings back.
ALTER TABLE {{schema}}.memories
  ADD COLUMN content_hash text,
  ADD COLUMN duplicate_of uuid,
  ADD COLUMN supersedes uuid,
  ADD COLUMN superseded_by uuid,
  ADD COLUMN valid_to timestamptz;
CREATE INDEX memories_content_hash_idx ON {{schema}}.memories (content_hash) WHERE content_hash IS NOT NULL;
-- Live rows only: every read of a type filters out tombstones, and retention walks a
-- type's oldest live rows batch after batch without stepping over the ones it expired.
DROP INDEX {{schema}}.memories_type_idx;
CREATE INDEX memories_type_idx ON {{schema}}.memories (tenant_id, memory_type, created_at DESC) WHERE deleted_at IS NULL;

CREATE TABLE {{schema}}.erasures (
  tenant_id      text        NOT NULL,
  id             uuid        NOT NULL,
  subject        text        NOT NULL,
  subject_id     text        NOT NULL,
  -- Rows of the subject at or below this version are erased; later writes are new data.
  erased_version bigint      NOT NULL,
  erased_at      timestamptz NOT NULL,
  actor          text,
  -- The signed report, once the erasure has been verified on every provider.
  report         jsonb,
  version        bigint      NOT NULL,
  origin         text        NOT NULL,
  deleted_at     timestamptz,
  change_xid     xid8        NOT NULL DEFAULT pg_current_xact_id(),
  CONSTRAINT erasures_pkey PRIMARY KEY (tenant_id, id),
  CONSTRAINT erasures_subject_check CHECK (subject IN ('tenant', 'user', 'session'))
);
CREATE INDEX erasures_change_idx ON {{schema}}.erasures (change_xid);
CREATE TRIGGER erasures_capture_change BEFORE INSERT OR UPDATE ON {{schema}}.erasures
  FOR EACH ROW EXECUTE FUNCTION {{schema}}.capture_change();
ALTER TABLE {{schema}}.erasures ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON {{schema}}.erasures
  USING (tenant_id = current_setting('agentmem.tenant_id', true));

-- The memory most like an embedding among the newest p_window live, current
-- memories of one tenant, type and user (keyed items are addressed by their
-- key, never duplicates): a near-duplicate candidate. pgvector
-- computes the distance where the server has it, the SQL fallback elsewhere.
DO $$
DECLARE
  distance text := CASE WHEN EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector')
    THEN 'c.embedding::vector <=> p_embedding::vector' ELSE '{{schema}}.cosine_distance(c.embedding, p_embedding)' END;
BEGIN
  EXECUTE format($f$
    CREATE FUNCTION {{schema}}.nearest_memory(p_tenant text, p_type text, p_user text, p_embedding real[], p_window integer)
    RETURNS TABLE (id uuid, distance double precision)
    LANGUAGE sql STABLE AS $body$
      SELECT c.id, %s
        FROM (SELECT m.id, m.embedding FROM {{schema}}.memories m
               WHERE m.tenant_id = p_tenant AND m.memory_type = p_type AND m.user_id IS NOT DISTINCT FROM p_user
                 AND m.deleted_at IS NULL AND m.valid_to IS NULL AND m.namespace IS NULL AND m.embedding_dim = cardinality(p_embedding)
               ORDER BY m.created_at DESC LIMIT p_window) c
       ORDER BY 2 LIMIT 1
    $body$ $f$, distance);
END
$$;
