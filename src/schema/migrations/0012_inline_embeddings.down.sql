-- Embeddings out of line again, as migration 0009 stored them.
ALTER TABLE {{schema}}.knowledge_atoms ALTER COLUMN embedding SET STORAGE EXTERNAL;
ALTER TABLE {{schema}}.knowledge_atoms RESET (toast_tuple_target);
