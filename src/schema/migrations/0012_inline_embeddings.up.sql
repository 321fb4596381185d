-- Exact vector ranking reads each candidate's embedding. Stored out of
-- line (EXTERNAL, migration 0009), every candidate cost a TOAST index lookup and
-- four chunk reads: 1,000 candidates of 1,536 dimensions took 20 ms, 7 ms with the
-- embedding in the row. An embedding that fits a page (up to about 1,900
-- dimensions) now stays in its row: MAIN storage (compressed or moved out only
-- when nothing else can be) and a toast target of a whole page, so the row's
-- long text (content, search) is compressed or moved out first. Rows written
-- before this keep their out-of-line embedding until written again (or
-- `VACUUM FULL` of the table). Larger embeddings stay out of line: trying to
-- compress floats costs more than it saves.
DO $$
BEGIN
  IF {{embedding_dim}} <= 1900 THEN
    ALTER TABLE {{schema}}.knowledge_atoms ALTER COLUMN embedding SET STORAGE MAIN;
    ALTER TABLE {{schema}}.knowledge_atoms SET (toast_tuple_target = 8160);
  END IF;
END
$$;
