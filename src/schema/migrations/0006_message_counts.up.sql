-- How many live messages each session holds on this provider, kept by
-- triggers — for local appends and replicated rows alike — so an append learns
-- its index (`seq`) in constant time: the new message is always the last one
-- on the provider that takes it (migration 0003), so its index is the count.
-- Local bookkeeping, like change_xid: never replicated, not in checksums.
ALTER TABLE {{schema}}.sessions ADD COLUMN message_count integer NOT NULL DEFAULT 0;
UPDATE {{schema}}.sessions s SET message_count = (
  SELECT count(*) FROM {{schema}}.memories m
   WHERE m.tenant_id = s.tenant_id AND m.session_id = s.id AND m.deleted_at IS NULL AND m.memory_type IN ({{message_types}}));

CREATE FUNCTION {{schema}}.count_messages() RETURNS trigger
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
CREATE TRIGGER memories_count_messages AFTER INSERT OR UPDATE OR DELETE ON {{schema}}.memories
  FOR EACH ROW EXECUTE FUNCTION {{schema}}.count_messages();

-- A session that arrives (by replication) after some of its messages starts from what is there.
CREATE FUNCTION {{schema}}.initial_message_count() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.message_count := (SELECT count(*) FROM {{schema}}.memories m
    WHERE m.tenant_id = NEW.tenant_id AND m.session_id = NEW.id AND m.deleted_at IS NULL AND m.memory_type IN ({{message_types}}));
  RETURN NEW;
END
$$;
CREATE TRIGGER sessions_initial_message_count BEFORE INSERT ON {{schema}}.sessions
  FOR EACH ROW EXECUTE FUNCTION {{schema}}.initial_message_count();

-- append_message: the index of the new message is the session's count before it.
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
