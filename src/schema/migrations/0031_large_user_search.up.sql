-- A search within one user's memories and messages, at any size of their
-- history.
--
-- A user's rows are their own (memories_user_idx) and the rows of their
-- sessions that have no user of their own (written before the session was
-- given its user). This index holds only the latter, so a search reads them
-- without reading every row of the user's sessions.
CREATE INDEX memories_session_without_user_idx ON {{schema}}.memories (tenant_id, session_id) WHERE user_id IS NULL;

-- The vector half ranks a user's rows exactly while they are few. Once a user
-- has many, each row embedded from then on joins an HNSW graph
-- (embedding_graph), walked for that user's search, and the rows embedded
-- before stay few and are still ranked exactly, through the second index.
-- Rows of users with few rows never enter the graph, so their embedding costs
-- no insertion into it. The flag is set with the embedding and replicated
-- with it: every provider's graph holds the same rows.
ALTER TABLE {{schema}}.memories ADD COLUMN embedding_graph boolean;

CREATE INDEX memories_user_outside_graph_idx ON {{schema}}.memories (tenant_id, user_id)
  WHERE embedding IS NOT NULL AND embedding_graph IS NOT TRUE;

-- The graph over halfvec (half the size, the same ranking) on a server; over
-- vector on the embedded database, whose pgvector computes halfvec distances
-- in software (as migration 0030 found for the atoms' graphs).
DO $$
DECLARE
  version text := (SELECT extversion FROM pg_extension WHERE extname = 'vector');
  kind text := CASE WHEN version() LIKE '%emscripten%' AND {{embedding_dim}} <= 2000 THEN 'vector' ELSE 'halfvec' END;
BEGIN
  IF version IS NOT NULL AND string_to_array(version, '.')::int[] >= '{0,7}'::int[] AND {{embedding_dim}} <= 4000 THEN
    DROP INDEX IF EXISTS {{schema}}.memories_embedding_hnsw_idx;
    EXECUTE format('CREATE INDEX memories_embedding_hnsw_idx ON {{schema}}.memories
      USING hnsw ((embedding::%1$s({{embedding_dim}})) %1$s_cosine_ops)
      WHERE embedding_graph AND embedding_dim = {{embedding_dim}}', kind);
  END IF;
END
$$;
