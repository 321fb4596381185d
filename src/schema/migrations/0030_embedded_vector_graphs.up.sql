-- On the embedded database (PGlite: PostgreSQL compiled to WebAssembly) the
-- knowledge atoms' HNSW graphs are built over vector, not halfvec. There,
-- pgvector turns each half-precision float into a float in software (no F16C
-- instructions), on every distance it computes: walking a halfvec graph of
-- 2,000 atoms of 384 dimensions took ~3.4 ms where a vector graph takes ~0.9,
-- and adding an atom to the graph costs the same factor. What halfvec saves,
-- half the index's size, matters to a server holding millions of atoms, not
-- to an embedded database. A vector graph holds up to 2,000 dimensions: above
-- that, halfvec stays. Servers keep their halfvec graphs (migration 0008).
DO $$
BEGIN
  IF version() LIKE '%emscripten%' AND {{embedding_dim}} <= 2000 AND EXISTS (
       SELECT 1 FROM pg_indexes
        WHERE schemaname = '{{schema}}' AND indexname LIKE 'knowledge\_atoms\_embedding\_hnsw\_b%' AND indexdef LIKE '%halfvec%') THEN
    FOR bucket IN 0..{{tenant_buckets}} - 1 LOOP
      EXECUTE format('DROP INDEX IF EXISTS {{schema}}.knowledge_atoms_embedding_hnsw_b%s', lpad(bucket::text, 2, '0'));
      EXECUTE format('CREATE INDEX knowledge_atoms_embedding_hnsw_b%s ON {{schema}}.knowledge_atoms
        USING hnsw ((embedding::vector({{embedding_dim}})) vector_cosine_ops)
        WHERE embedding_dim = {{embedding_dim}} AND {{schema}}.tenant_bucket(tenant_id) = %s', lpad(bucket::text, 2, '0'), bucket);
    END LOOP;
  END IF;
END
$$;
