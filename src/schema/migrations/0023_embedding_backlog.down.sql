DROP TABLE {{schema}}.embedding_staging;
DROP INDEX {{schema}}.memories_embedding_model_idx;
DROP TABLE {{schema}}.embedding_claims;
DROP INDEX {{schema}}.memories_embedding_backlog_idx;
DO $$
DECLARE
  version text := (SELECT extversion FROM pg_extension WHERE extname = 'vector');
BEGIN
  IF version IS NOT NULL AND string_to_array(version, '.')::int[] >= '{0,7}'::int[] AND {{embedding_dim}} <= 4000 THEN
    EXECUTE 'CREATE INDEX memories_embedding_hnsw_idx ON {{schema}}.memories
      USING hnsw ((embedding::halfvec({{embedding_dim}})) halfvec_cosine_ops) WHERE embedding_dim = {{embedding_dim}}';
  END IF;
END
$$;
