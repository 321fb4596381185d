DROP TRIGGER IF EXISTS sessions_initial_message_count ON {{schema}}.sessions;
DROP FUNCTION IF EXISTS {{schema}}.initial_message_count();
DROP TRIGGER IF EXISTS memories_count_messages ON {{schema}}.memories;
DROP FUNCTION IF EXISTS {{schema}}.count_messages();
ALTER TABLE {{schema}}.sessions DROP COLUMN IF EXISTS message_count;
-- append_message as migration 0003 defined it (counting on every append).
CREATE OR REPLACE FUNCTION {{schema}}.append_message(
  p_tenant text, p_session uuid, p_id uuid, p_type text, p_content jsonb, p_metadata jsonb,
  p_created_at timestamptz, p_version bigint, p_origin text
) RETURNS TABLE (
  id uuid, session_id uuid, memory_type text, content jsonb, metadata jsonb, created_at timestamptz, "position" bigint, seq bigint
)
LANGUAGE plpgsql AS $$
DECLARE
  v_user text;
  v_position bigint;
BEGIN
  SELECT s.user_id INTO v_user FROM {{schema}}.sessions s
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
  END IF;
  RETURN QUERY
    SELECT m.id, m.session_id, m.memory_type, m.content, m.metadata, m.created_at, m.position,
           (SELECT count(*) FROM {{schema}}.memories o
             WHERE o.tenant_id = p_tenant AND o.session_id = p_session AND o.deleted_at IS NULL
               AND o.memory_type IN ({{message_types}}) AND (o.position, o.id) < (m.position, m.id))
      FROM {{schema}}.memories m
     WHERE m.tenant_id = p_tenant AND m.id = p_id AND m.session_id = p_session AND m.deleted_at IS NULL;
END
$$;
