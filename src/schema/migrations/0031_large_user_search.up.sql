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

-- In a long history, full text ranks a window of the newest matches:
-- user_text_window() walks the user's rows newest first (their index, and
-- nothing else: its settings hold for the walk alone) for at most p_walk rows
-- and stops at p_window matches; words too rare to fill the window there are
-- then read from the text index. Neither step depends on the planner's
-- estimate of how many rows hold the words, which a table's statistics give
-- only roughly (and not at all before it is analyzed).
CREATE FUNCTION {{schema}}.user_text_window(
  p_tenant text, p_user text, p_words tsquery, p_types text[], p_at timestamptz,
  p_superseded boolean, p_sessions uuid[], p_session uuid, p_window integer, p_walk integer)
RETURNS TABLE (id uuid, search tsvector)
LANGUAGE plpgsql STABLE
SET enable_seqscan = off SET enable_bitmapscan = off SET enable_sort = off
AS $$
DECLARE
  found_rows bigint;
BEGIN
  RETURN QUERY
    SELECT m.id, m.search
      FROM (SELECT * FROM {{schema}}.memories x WHERE x.tenant_id = p_tenant AND x.user_id = p_user
             ORDER BY x.created_at DESC LIMIT p_walk) m
     WHERE m.deleted_at IS NULL AND m.namespace IS NULL AND m.memory_type = ANY(p_types)
       AND (m.expires_at IS NULL OR m.expires_at > now())
       AND (p_at IS NULL OR m.created_at <= p_at)
       AND (p_superseded OR m.valid_to IS NULL OR m.valid_to > p_at)
       AND (p_sessions IS NULL OR m.session_id = ANY(p_sessions))
       AND (p_session IS NULL OR m.session_id = p_session)
       AND m.search @@ p_words
     ORDER BY m.created_at DESC
     LIMIT p_window;
  GET DIAGNOSTICS found_rows = ROW_COUNT;
  IF found_rows < p_window THEN
    PERFORM set_config('enable_bitmapscan', 'on', true), set_config('enable_sort', 'on', true);
    RETURN QUERY
      SELECT m.id, m.search FROM {{schema}}.memories m
       WHERE m.tenant_id = p_tenant AND m.user_id = p_user AND m.search @@ p_words
         AND m.deleted_at IS NULL AND m.namespace IS NULL AND m.memory_type = ANY(p_types)
         AND (m.expires_at IS NULL OR m.expires_at > now())
         AND (p_at IS NULL OR m.created_at <= p_at)
         AND (p_superseded OR m.valid_to IS NULL OR m.valid_to > p_at)
         AND (p_sessions IS NULL OR m.session_id = ANY(p_sessions))
         AND (p_session IS NULL OR m.session_id = p_session)
       ORDER BY m.created_at DESC
       LIMIT p_window;
  END IF;
END
$$;

-- The graph over halfvec (half the size, the same ranking) on a server; over
-- vector on the embedded database, whose pgvector computes halfvec distances
-- in software (as migration 0030 found for the atoms' graphs).
--
-- user_graph_nearest() walks it for one user's rows that pass a
-- search's filters: pgvector's iterative scan keeps walking until enough rows
-- pass them, with the ef_search the caller computed from the graph's size
-- (as the atoms' search does), and the nearest are ranked again by their
-- exact distance. Its settings hold
-- for the walk alone, and leave the planner no other way to order the rows
-- than the graph: a plan made from a table's statistics before the user's
-- rows were counted would sort every one of them instead. The graph's type
-- and dimension come from the caller (what the provider's index was built
-- over), so the function is the same whatever the configured dimension.
-- It is made wherever pgvector 0.8 is (its settings name pgvector's).
DO $$
DECLARE
  version text := (SELECT extversion FROM pg_extension WHERE extname = 'vector');
  kind text := CASE WHEN version() LIKE '%emscripten%' AND {{embedding_dim}} <= 2000 THEN 'vector' ELSE 'halfvec' END;
BEGIN
  IF version IS NOT NULL AND string_to_array(version, '.')::int[] >= '{0,8}'::int[] THEN
    IF {{embedding_dim}} <= 4000 THEN
      DROP INDEX IF EXISTS {{schema}}.memories_embedding_hnsw_idx;
      EXECUTE format('CREATE INDEX memories_embedding_hnsw_idx ON {{schema}}.memories
        USING hnsw ((embedding::%1$s({{embedding_dim}})) %1$s_cosine_ops)
        WHERE embedding_graph AND embedding_dim = {{embedding_dim}}', kind);
    END IF;
    EXECUTE $f$
    CREATE FUNCTION {{schema}}.user_graph_nearest(
      p_tenant text, p_user text, p_query text, p_kind text, p_dim integer, p_model text, p_types text[],
      p_at timestamptz, p_superseded boolean, p_sessions uuid[], p_session uuid, p_limit integer, p_ef_search integer)
    RETURNS TABLE (id uuid, distance double precision)
    LANGUAGE plpgsql STABLE
    SET enable_seqscan = off SET enable_bitmapscan = off SET enable_sort = off
    SET hnsw.ef_search = 40 SET hnsw.iterative_scan = relaxed_order
    AS $body$
    BEGIN
      IF p_kind NOT IN ('halfvec', 'vector') THEN
        RAISE EXCEPTION 'user_graph_nearest: a graph is walked over halfvec or vector, not %', p_kind;
      END IF;
      PERFORM set_config('hnsw.ef_search', p_ef_search::text, true);
      RETURN QUERY EXECUTE format($walk$
        SELECT m.id, (m.embedding::vector(%2$s) <=> $3::vector(%2$s))::double precision
          FROM {{schema}}.memories m
         WHERE m.embedding_graph AND m.embedding_dim = %2$s AND m.embedding_model = $4
           AND m.tenant_id = $1 AND m.user_id = $2 AND m.deleted_at IS NULL AND m.namespace IS NULL
           AND m.memory_type = ANY($5) AND (m.expires_at IS NULL OR m.expires_at > now())
           AND ($6::timestamptz IS NULL OR m.created_at <= $6)
           AND ($7 OR m.valid_to IS NULL OR m.valid_to > $6)
           AND ($8::uuid[] IS NULL OR m.session_id = ANY($8))
           AND ($9::uuid IS NULL OR m.session_id = $9)
         ORDER BY m.embedding::%1$s(%2$s) <=> $3::%1$s(%2$s)
         LIMIT $10 $walk$, p_kind, p_dim)
        USING p_tenant, p_user, p_query, p_model, p_types, p_at, p_superseded, p_sessions, p_session, p_limit;
    END
    $body$
    $f$;
  END IF;
END
$$;
