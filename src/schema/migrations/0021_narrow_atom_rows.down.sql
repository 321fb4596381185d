-- The metadata index of 0020 and embeddings in the row, as 0012 stored them (up to ~1,900 dimensions).
DROP INDEX {{schema}}.knowledge_atoms_metadata_idx;
ALTER TABLE {{schema}}.knowledge_atoms DROP COLUMN metadata_tokens;
DROP FUNCTION {{schema}}.metadata_tokens(text, jsonb);
DROP FUNCTION {{schema}}.metadata_leaf(text, jsonb);
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'btree_gin') THEN
    CREATE INDEX knowledge_atoms_metadata_idx ON {{schema}}.knowledge_atoms USING gin ((tenant_id || ''), metadata jsonb_path_ops);
  ELSE
    CREATE INDEX knowledge_atoms_metadata_idx ON {{schema}}.knowledge_atoms USING gin (metadata jsonb_path_ops);
  END IF;
  IF {{embedding_dim}} <= 1900 THEN
    ALTER TABLE {{schema}}.knowledge_atoms ALTER COLUMN embedding SET STORAGE MAIN;
    ALTER TABLE {{schema}}.knowledge_atoms SET (toast_tuple_target = 8160);
  END IF;
END
$$;
