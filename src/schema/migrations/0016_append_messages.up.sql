-- addMessages and save as one function call: lock the session, find
-- its next position, leave out the ids the tenant already holds (live), insert
-- the rest in the order given (a removed message comes back as
-- the newest). It was five statements, each a round trip, inside BEGIN/COMMIT;
-- now addMessages is one statement. p_rows is a JSON array of records with the
-- message's fields and `n`, its place in the batch. Returns how many were
-- written, or NULL when the session does not exist (or was deleted).
CREATE FUNCTION {{schema}}.append_messages(p_tenant text, p_session uuid, p_rows jsonb, p_version bigint, p_origin text)
RETURNS integer
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_user text;
  v_next bigint;
  v_count integer;
BEGIN
  -- Writers of one session take turns: positions are assigned under this lock.
  SELECT s.user_id INTO v_user FROM {{schema}}.sessions s
   WHERE s.tenant_id = p_tenant AND s.id = p_session AND s.deleted_at IS NULL
   FOR UPDATE;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  -- A statement of its own, after the lock: it sees every append committed before it.
  SELECT greatest(p_version, coalesce(max(o.position) + 1, 0)) INTO v_next FROM {{schema}}.memories o
   WHERE o.tenant_id = p_tenant AND o.session_id = p_session;
  INSERT INTO {{schema}}.memories AS m
    (tenant_id, id, session_id, user_id, memory_type, position, content, metadata, created_at, version, origin,
     name, tool_calls, tool_call_id, external_id, extra)
  SELECT p_tenant, r.id, p_session, v_user, r.memory_type, v_next + row_number() OVER (ORDER BY r.n) - 1,
         r.content, r.metadata, r.created_at, p_version, p_origin, r.name, r.tool_calls, r.tool_call_id, r.external_id, r.extra
    FROM jsonb_to_recordset(p_rows) AS r(n integer, id uuid, memory_type text, content jsonb, metadata jsonb, created_at timestamptz,
         name text, tool_calls jsonb, tool_call_id text, external_id text, extra jsonb)
  -- An id the tenant holds already is left as it is (and not counted), unless it is a message
  -- of this session that was removed: that one comes back. (The conflict check, not a lookup
  -- before it: a NOT EXISTS here cost a fifth of the statement.) Positions may skip: they order.
  ON CONFLICT ON CONSTRAINT memories_pkey DO UPDATE
    SET user_id = EXCLUDED.user_id, memory_type = EXCLUDED.memory_type, position = EXCLUDED.position,
        content = EXCLUDED.content, metadata = EXCLUDED.metadata, created_at = EXCLUDED.created_at, name = EXCLUDED.name,
        tool_calls = EXCLUDED.tool_calls, tool_call_id = EXCLUDED.tool_call_id, external_id = EXCLUDED.external_id,
        extra = EXCLUDED.extra, version = EXCLUDED.version, origin = EXCLUDED.origin, deleted_at = NULL
    WHERE m.deleted_at IS NOT NULL AND m.session_id = EXCLUDED.session_id;
  GET DIAGNOSTICS v_count = ROW_COUNT;
  RETURN v_count;
END
$$;
