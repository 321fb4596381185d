ALTER TABLE {{schema}}.knowledge_atoms DROP COLUMN embedding_bits;
DROP FUNCTION {{schema}}.sign_bits(real[]);
