DROP INDEX IF EXISTS {{schema}}.knowledge_atoms_metadata_idx;
DO $$
DECLARE
  bucketed boolean := EXISTS (SELECT 1 FROM pg_indexes WHERE schemaname = '{{schema}}' AND indexname LIKE 'knowledge\_atoms\_embedding\_hnsw\_b%');
BEGIN
  IF bucketed THEN
    FOR bucket IN 0..{{tenant_buckets}} - 1 LOOP
      EXECUTE format('DROP INDEX IF EXISTS {{schema}}.knowledge_atoms_embedding_hnsw_b%s', lpad(bucket::text, 2, '0'));
    END LOOP;
    DROP INDEX IF EXISTS {{schema}}.memories_embedding_hnsw_idx;
    EXECUTE 'CREATE INDEX knowledge_atoms_embedding_hnsw_idx ON {{schema}}.knowledge_atoms
      USING hnsw ((embedding::vector({{embedding_dim}})) vector_cosine_ops) WHERE embedding_dim = {{embedding_dim}}';
    EXECUTE 'CREATE INDEX memories_embedding_hnsw_idx ON {{schema}}.memories
      USING hnsw ((embedding::vector({{embedding_dim}})) vector_cosine_ops) WHERE embedding_dim = {{embedding_dim}}';
  END IF;
END
$$;
DROP FUNCTION IF EXISTS {{schema}}.tenant_bucket(text);
