DROP FUNCTION IF EXISTS {{schema}}.user_text_window;
DROP FUNCTION IF EXISTS {{schema}}.user_graph_nearest;
DROP INDEX IF EXISTS {{schema}}.memories_embedding_hnsw_idx;
DROP INDEX IF EXISTS {{schema}}.memories_user_outside_graph_idx;
ALTER TABLE {{schema}}.memories DROP COLUMN IF EXISTS embedding_graph;
DROP INDEX IF EXISTS {{schema}}.memories_session_without_user_idx;
