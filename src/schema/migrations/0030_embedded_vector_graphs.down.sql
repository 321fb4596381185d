-- Back to migration 0008's halfvec graphs on the embedded database.
DO $$
BEGIN
  IF version() LIKE '%emscripten%' AND EXISTS (
       SELECT 1 FROM pg_indexes
        WHERE schemaname = '{{schema}}' AND indexname LIKE 'knowledge\_atoms\_embedding\_hnsw\_b%'
          AND indexdef LIKE '%vector_cosine_ops%') THEN
    FOR bucket IN 0..{{tenant_buckets}} - 1 LOOP
      EXECUTE format('DROP INDEX IF EXISTS {{schema}}.knowledge_atoms_embedding_hnsw_b%s', lpad(bucket::text, 2, '0'));
      EXECUTE format('CREATE INDEX knowledge_atoms_embedding_hnsw_b%s ON {{schema}}.knowledge_atoms
        USING hnsw ((embedding::halfvec({{embedding_dim}})) halfvec_cosine_ops)
        WHERE embedding_dim = {{embedding_dim}} AND {{schema}}.tenant_bucket(tenant_id) = %s', lpad(bucket::text, 2, '0'), bucket);
    END LOOP;
  END IF;
END
$$;
