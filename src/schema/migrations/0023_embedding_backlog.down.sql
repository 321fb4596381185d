DROP TABLE {{schema}}.embedding_claims;
DROP INDEX {{schema}}.memories_embedding_backlog_idx;
