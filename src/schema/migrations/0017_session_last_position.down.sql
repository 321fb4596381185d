-- Back to append_message and max(position) per append (0010, 0016), and 0013's history trigger; the column goes.
DROP FUNCTION {{schema}}.add_message(text, uuid, uuid, text, jsonb, jsonb, timestamptz, bigint, text, text, jsonb, text, text, jsonb);
CREATE OR REPLACE FUNCTION {{schema}}.append_message(
  p_tenant text, p_session uuid, p_id uuid, p_type text, p_content jsonb, p_metadata jsonb,
  p_created_at timestamptz, p_version bigint, p_origin text,
  p_name text, p_tool_calls jsonb, p_tool_call_id text, p_external_id text, p_extra jsonb
) RETURNS TABLE (
  id uuid, session_id uuid, memory_type text, content jsonb, metadata jsonb, created_at timestamptz, "position" bigint, seq bigint,
  name text, tool_calls jsonb, tool_call_id text, external_id text, extra jsonb
)
LANGUAGE plpgsql AS $$
DECLARE
  v_user text;
  v_count integer;
BEGIN
  SELECT s.user_id, s.message_count INTO v_user, v_count FROM {{schema}}.sessions s
   WHERE s.tenant_id = p_tenant AND s.id = p_session AND s.deleted_at IS NULL
   FOR UPDATE;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  RETURN QUERY
    INSERT INTO {{schema}}.memories AS m
      (tenant_id, id, session_id, user_id, memory_type, position, content, metadata, created_at, version, origin,
       name, tool_calls, tool_call_id, external_id, extra)
    SELECT p_tenant, p_id, p_session, v_user, p_type, greatest(p_version, coalesce(max(o.position) + 1, 0)),
           p_content, p_metadata, p_created_at, p_version, p_origin,
           p_name, p_tool_calls, p_tool_call_id, p_external_id, p_extra
      FROM {{schema}}.memories o WHERE o.tenant_id = p_tenant AND o.session_id = p_session
    -- A message removed (clearMessages) and appended again comes back, as the newest.
    ON CONFLICT ON CONSTRAINT memories_pkey DO UPDATE
      SET user_id = EXCLUDED.user_id, memory_type = EXCLUDED.memory_type, position = EXCLUDED.position,
          content = EXCLUDED.content, metadata = EXCLUDED.metadata, created_at = EXCLUDED.created_at, name = EXCLUDED.name,
          tool_calls = EXCLUDED.tool_calls, tool_call_id = EXCLUDED.tool_call_id, external_id = EXCLUDED.external_id,
          extra = EXCLUDED.extra, version = EXCLUDED.version, origin = EXCLUDED.origin, deleted_at = NULL
      WHERE m.deleted_at IS NOT NULL AND m.session_id = EXCLUDED.session_id
    RETURNING m.id, m.session_id, m.memory_type, m.content, m.metadata, m.created_at, m.position, v_count::bigint,
              m.name, m.tool_calls, m.tool_call_id, m.external_id, m.extra;
  IF FOUND THEN
    RETURN;
  END IF;
  -- A retry of an append already stored: its index, counted.
  RETURN QUERY
    SELECT m.id, m.session_id, m.memory_type, m.content, m.metadata, m.created_at, m.position,
           (SELECT count(*) FROM {{schema}}.memories o
             WHERE o.tenant_id = p_tenant AND o.session_id = p_session AND o.deleted_at IS NULL
               AND o.memory_type IN ({{message_types}}) AND (o.position, o.id) < (m.position, m.id)),
           m.name, m.tool_calls, m.tool_call_id, m.external_id, m.extra
      FROM {{schema}}.memories m
     WHERE m.tenant_id = p_tenant AND m.id = p_id AND m.session_id = p_session AND m.deleted_at IS NULL;
END
$$;

CREATE OR REPLACE FUNCTION {{schema}}.append_messages(p_tenant text, p_session uuid, p_rows jsonb, p_version bigint, p_origin text)
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

CREATE OR REPLACE FUNCTION {{schema}}.count_messages() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  was_live boolean := TG_OP <> 'INSERT' AND OLD.session_id IS NOT NULL AND OLD.deleted_at IS NULL AND OLD.memory_type IN ({{message_types}});
  is_live boolean := TG_OP <> 'DELETE' AND NEW.session_id IS NOT NULL AND NEW.deleted_at IS NULL AND NEW.memory_type IN ({{message_types}});
BEGIN
  IF was_live AND NOT (is_live AND NEW.session_id = OLD.session_id) THEN
    UPDATE {{schema}}.sessions SET message_count = message_count - 1 WHERE tenant_id = OLD.tenant_id AND id = OLD.session_id;
  END IF;
  IF is_live AND NOT (was_live AND NEW.session_id = OLD.session_id) THEN
    UPDATE {{schema}}.sessions SET message_count = message_count + 1 WHERE tenant_id = NEW.tenant_id AND id = NEW.session_id;
  END IF;
  RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION {{schema}}.initial_message_count() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.message_count := (SELECT count(*) FROM {{schema}}.memories m
    WHERE m.tenant_id = NEW.tenant_id AND m.session_id = NEW.id AND m.deleted_at IS NULL AND m.memory_type IN ({{message_types}}));
  RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION {{schema}}.record_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  new_row jsonb;
  old_row jsonb;
  record_key text;
  operation text;
  new_embedding real[];
  old_embedding real[];
BEGIN
  IF current_setting('agentmem.replicating', true) = 'on' THEN
    RETURN NULL;
  END IF;
  -- Local bookkeeping (a session's message_count) changes no version: not a change of the record.
  IF TG_OP = 'UPDATE' AND NEW.version IS NOT DISTINCT FROM OLD.version THEN
    RETURN NULL;
  END IF;
  IF TG_TABLE_NAME IN ('knowledge_atoms', 'memories') THEN
    -- The embedding goes to its own column, unchanged; in the JSON row it is null.
    -- NEW and OLD are copies here; the stored row keeps its embedding.
    new_embedding := NEW.embedding;
    NEW.embedding := NULL;
    new_row := to_jsonb(NEW) - '{change_xid,message_count,search}'::text[];
    IF TG_OP = 'UPDATE' THEN
      old_embedding := OLD.embedding;
      OLD.embedding := NULL;
      old_row := to_jsonb(OLD) - '{change_xid,message_count,search}'::text[];
    END IF;
  ELSE
    new_row := to_jsonb(NEW) - '{change_xid,message_count,search}'::text[];
    IF TG_OP = 'UPDATE' THEN
      old_row := to_jsonb(OLD) - '{change_xid,message_count,search}'::text[];
    END IF;
  END IF;
  record_key := CASE WHEN TG_TABLE_NAME = 'settings' THEN (new_row->>'category') || '/' || (new_row->>'key') ELSE new_row->>'id' END;
  operation := CASE
    WHEN NEW.deleted_at IS NOT NULL AND (old_row IS NULL OR OLD.deleted_at IS NULL) THEN 'delete'
    WHEN old_row IS NULL OR OLD.deleted_at IS NOT NULL THEN 'insert'
    ELSE 'update' END;
  INSERT INTO {{schema}}.change_history
    (tenant_id, id, table_name, record_key, operation, old_row, new_row, old_embedding, new_embedding, row_version, actor,
     changed_at, version, origin)
  VALUES
    (NEW.tenant_id, md5(TG_TABLE_NAME || '/' || record_key || '/' || NEW.version::text)::uuid, TG_TABLE_NAME, record_key,
     operation, old_row, new_row, old_embedding, new_embedding, NEW.version, nullif(current_setting('agentmem.actor', true), ''),
     clock_timestamp(), NEW.version, NEW.origin)
  ON CONFLICT (tenant_id, id) DO NOTHING;
  RETURN NULL;
END
$$;

ALTER TABLE {{schema}}.sessions DROP COLUMN last_position;
