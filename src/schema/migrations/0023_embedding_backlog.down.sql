DROP TABLE {{schema}}.embedding_staging;
DROP INDEX {{schema}}.memories_embedding_model_idx;
DROP TABLE {{schema}}.embedding_claims;
DROP INDEX {{schema}}.memories_embedding_backlog_idx;
