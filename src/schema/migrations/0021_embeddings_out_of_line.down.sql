-- Embeddings in the row again, as migration 0012 stored them (up to ~1,900 dimensions).
DO $$
BEGIN
  IF {{embedding_dim}} <= 1900 THEN
    ALTER TABLE {{schema}}.knowledge_atoms ALTER COLUMN embedding SET STORAGE MAIN;
    ALTER TABLE {{schema}}.knowledge_atoms SET (toast_tuple_target = 8160);
  END IF;
END
$$;
