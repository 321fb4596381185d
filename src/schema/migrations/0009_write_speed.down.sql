-- The append of 0006, restored.
CREATE OR REPLACE FUNCTION {{schema}}.append_message(
  p_tenant text, p_session uuid, p_id uuid, p_type text, p_content jsonb, p_metadata jsonb,
  p_created_at timestamptz, p_version bigint, p_origin text
) RETURNS TABLE (
  id uuid, session_id uuid, memory_type text, content jsonb, metadata jsonb, created_at timestamptz, "position" bigint, seq bigint
)
LANGUAGE plpgsql AS $$
DECLARE
  v_user text;
  v_count integer;
  v_position bigint;
BEGIN
  SELECT s.user_id, s.message_count INTO v_user, v_count FROM {{schema}}.sessions s
   WHERE s.tenant_id = p_tenant AND s.id = p_session AND s.deleted_at IS NULL
   FOR UPDATE;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM {{schema}}.memories m WHERE m.tenant_id = p_tenant AND m.id = p_id) THEN
    SELECT greatest(p_version, coalesce(max(m.position) + 1, 0)) INTO v_position
      FROM {{schema}}.memories m WHERE m.tenant_id = p_tenant AND m.session_id = p_session;
    INSERT INTO {{schema}}.memories AS m
      (tenant_id, id, session_id, user_id, memory_type, position, content, metadata, created_at, version, origin)
    VALUES (p_tenant, p_id, p_session, v_user, p_type, v_position, p_content, p_metadata, p_created_at, p_version, p_origin)
    ON CONFLICT ON CONSTRAINT memories_pkey DO NOTHING;
    IF FOUND THEN
      -- The newest position on this provider: every live message of the session comes before it.
      RETURN QUERY
        SELECT m.id, m.session_id, m.memory_type, m.content, m.metadata, m.created_at, m.position, v_count::bigint
          FROM {{schema}}.memories m WHERE m.tenant_id = p_tenant AND m.id = p_id;
      RETURN;
    END IF;
  END IF;
  -- A retry of an append already stored: its index, counted.
  RETURN QUERY
    SELECT m.id, m.session_id, m.memory_type, m.content, m.metadata, m.created_at, m.position,
           (SELECT count(*) FROM {{schema}}.memories o
             WHERE o.tenant_id = p_tenant AND o.session_id = p_session AND o.deleted_at IS NULL
               AND o.memory_type IN ({{message_types}}) AND (o.position, o.id) < (m.position, m.id))
      FROM {{schema}}.memories m
     WHERE m.tenant_id = p_tenant AND m.id = p_id AND m.session_id = p_session AND m.deleted_at IS NULL;
END
$$;

-- The change history of 0007, restored.
CREATE OR REPLACE FUNCTION {{schema}}.record_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  new_row jsonb;
  old_row jsonb;
  record_key text;
  operation text;
BEGIN
  IF current_setting('agentmem.replicating', true) = 'on' THEN
    RETURN NULL;
  END IF;
  -- Local bookkeeping (a session's message_count) changes no version: not a change of the record.
  IF TG_OP = 'UPDATE' AND NEW.version IS NOT DISTINCT FROM OLD.version THEN
    RETURN NULL;
  END IF;
  new_row := to_jsonb(NEW) - '{change_xid,message_count,search}'::text[];
  IF TG_OP = 'UPDATE' THEN
    old_row := to_jsonb(OLD) - '{change_xid,message_count,search}'::text[];
  END IF;
  record_key := CASE WHEN TG_TABLE_NAME = 'settings' THEN (new_row->>'category') || '/' || (new_row->>'key') ELSE new_row->>'id' END;
  operation := CASE
    WHEN NEW.deleted_at IS NOT NULL AND (old_row IS NULL OR OLD.deleted_at IS NULL) THEN 'delete'
    WHEN old_row IS NULL OR OLD.deleted_at IS NOT NULL THEN 'insert'
    ELSE 'update' END;
  INSERT INTO {{schema}}.change_history
    (tenant_id, id, table_name, record_key, operation, old_row, new_row, row_version, actor, changed_at, version, origin)
  VALUES
    (NEW.tenant_id, md5(TG_TABLE_NAME || '/' || record_key || '/' || NEW.version::text)::uuid, TG_TABLE_NAME, record_key,
     operation, old_row, new_row, NEW.version, nullif(current_setting('agentmem.actor', true), ''), clock_timestamp(),
     NEW.version, NEW.origin)
  ON CONFLICT (tenant_id, id) DO NOTHING;
  RETURN NULL;
END
$$;

ALTER TABLE {{schema}}.change_history ALTER COLUMN new_row SET COMPRESSION default, ALTER COLUMN old_row SET COMPRESSION default;
ALTER TABLE {{schema}}.knowledge_atoms ALTER COLUMN embedding SET STORAGE EXTENDED;
ALTER TABLE {{schema}}.memories ALTER COLUMN embedding SET STORAGE EXTENDED;
