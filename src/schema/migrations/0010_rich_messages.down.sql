-- Back to three message roles. Tool and developer messages have no place there:
-- they are removed first (export the sessions before going down).
DROP FUNCTION {{schema}}.append_message(text, uuid, uuid, text, jsonb, jsonb, timestamptz, bigint, text, text, jsonb, text, text, jsonb);
CREATE FUNCTION {{schema}}.append_message(
  p_tenant text, p_session uuid, p_id uuid, p_type text, p_content jsonb, p_metadata jsonb,
  p_created_at timestamptz, p_version bigint, p_origin text
) RETURNS TABLE (
  id uuid, session_id uuid, memory_type text, content jsonb, metadata jsonb, created_at timestamptz, "position" bigint, seq bigint
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
      (tenant_id, id, session_id, user_id, memory_type, position, content, metadata, created_at, version, origin)
    SELECT p_tenant, p_id, p_session, v_user, p_type, greatest(p_version, coalesce(max(o.position) + 1, 0)),
           p_content, p_metadata, p_created_at, p_version, p_origin
      FROM {{schema}}.memories o WHERE o.tenant_id = p_tenant AND o.session_id = p_session
    ON CONFLICT ON CONSTRAINT memories_pkey DO NOTHING
    RETURNING m.id, m.session_id, m.memory_type, m.content, m.metadata, m.created_at, m.position, v_count::bigint;
  IF FOUND THEN
    RETURN;
  END IF;
  -- A retry of an append already stored: its index, counted.
  RETURN QUERY
    SELECT m.id, m.session_id, m.memory_type, m.content, m.metadata, m.created_at, m.position,
           (SELECT count(*) FROM {{schema}}.memories o
             WHERE o.tenant_id = p_tenant AND o.session_id = p_session AND o.deleted_at IS NULL
               AND o.memory_type IN ('message_user', 'message_assistant', 'message_system') AND (o.position, o.id) < (m.position, m.id))
      FROM {{schema}}.memories m
     WHERE m.tenant_id = p_tenant AND m.id = p_id AND m.session_id = p_session AND m.deleted_at IS NULL;
END
$$;

DELETE FROM {{schema}}.memories WHERE memory_type IN ('message_tool', 'message_developer');
ALTER TABLE {{schema}}.memories DROP CONSTRAINT memories_memory_type_check;
ALTER TABLE {{schema}}.memories ADD CONSTRAINT memories_memory_type_check CHECK (memory_type IN ('session_metadata', 'message_user', 'message_assistant', 'message_system', 'context', 'action', 'issue', 'decision', 'log'));
ALTER TABLE {{schema}}.memories
  DROP COLUMN name, DROP COLUMN tool_calls, DROP COLUMN tool_call_id, DROP COLUMN external_id, DROP COLUMN extra;
ALTER TABLE {{schema}}.sessions DROP COLUMN external_id;
DROP INDEX {{schema}}.memories_namespace_idx;
ALTER TABLE {{schema}}.memories DROP COLUMN namespace, DROP COLUMN item_key, DROP COLUMN updated_at;

CREATE OR REPLACE FUNCTION {{schema}}.count_messages() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  was_live boolean := TG_OP <> 'INSERT' AND OLD.session_id IS NOT NULL AND OLD.deleted_at IS NULL AND OLD.memory_type IN ('message_user', 'message_assistant', 'message_system');
  is_live boolean := TG_OP <> 'DELETE' AND NEW.session_id IS NOT NULL AND NEW.deleted_at IS NULL AND NEW.memory_type IN ('message_user', 'message_assistant', 'message_system');
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
    WHERE m.tenant_id = NEW.tenant_id AND m.session_id = NEW.id AND m.deleted_at IS NULL AND m.memory_type IN ('message_user', 'message_assistant', 'message_system'));
  RETURN NEW;
END
$$;
