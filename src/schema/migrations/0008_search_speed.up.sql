-- Vector search that stays fast as memory grows.
--
-- 1. halfvec: the HNSW indexes are rebuilt over a halfvec cast of the stored
--    real[] (pgvector 0.7 and later, up to 4,000 dimensions). Half the size,
--    so more of it stays in memory and it builds faster; it ranks as the
--    full-precision vector does, and exact searches still compute over vector.
--
-- 2. One graph per tenant bucket: a tenant's search walks a graph built over
--    its bucket's rows, not over every tenant's. Under a filter that keeps one
--    tenant in ten, a shared graph visits ten rows for each one it returns and
--    loses the nearest ones (recall 0.8 in the benchmark); a bucket's graph
--    holds few other tenants. tenant_bucket() is md5-based, so a client can
--    compute the bucket and name it as a constant, which the planner needs to
--    choose the bucket's partial index.
--
-- Rebuilding takes a while on a large table: about 30 s per 100,000 atoms of
-- 1,536 dimensions on 2 cores.
CREATE FUNCTION {{schema}}.tenant_bucket(tenant text) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT get_byte(decode(md5(tenant), 'hex'), 0) % {{tenant_buckets}} $$;

DO $$
DECLARE
  version text := (SELECT extversion FROM pg_extension WHERE extname = 'vector');
BEGIN
  IF version IS NOT NULL AND string_to_array(version, '.')::int[] >= '{0,7}'::int[] AND {{embedding_dim}} <= 4000 THEN
    DROP INDEX IF EXISTS {{schema}}.knowledge_atoms_embedding_hnsw_idx;
    DROP INDEX IF EXISTS {{schema}}.memories_embedding_hnsw_idx;
    FOR bucket IN 0..{{tenant_buckets}} - 1 LOOP
      EXECUTE format('CREATE INDEX knowledge_atoms_embedding_hnsw_b%s ON {{schema}}.knowledge_atoms
        USING hnsw ((embedding::halfvec({{embedding_dim}})) halfvec_cosine_ops)
        WHERE embedding_dim = {{embedding_dim}} AND {{schema}}.tenant_bucket(tenant_id) = %s', lpad(bucket::text, 2, '0'), bucket);
    END LOOP;
    EXECUTE 'CREATE INDEX memories_embedding_hnsw_idx ON {{schema}}.memories
      USING hnsw ((embedding::halfvec({{embedding_dim}})) halfvec_cosine_ops) WHERE embedding_dim = {{embedding_dim}}';
  END IF;
END
$$;

-- Metadata filters (`metadata @> …`) find their rows through an index instead of scanning the tenant.
CREATE INDEX knowledge_atoms_metadata_idx ON {{schema}}.knowledge_atoms USING gin (metadata jsonb_path_ops);
