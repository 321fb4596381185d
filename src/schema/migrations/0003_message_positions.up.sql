-- Message order that every provider agrees on, across failover and replication.
--
-- A per-provider counter (the old seq/next_seq) gives two messages the same
-- position when writes move to a provider that has not yet received the newest
-- messages. A message's position is now a hybrid-logical-clock value: the
-- writer's clock at the append, raised above the session's current last
-- position on that provider. Positions from one process increase in
-- acknowledgement order whichever provider took the write, every provider
-- holds the same positions once replicated, and (position, id) is a total
-- order. The 0-based index a reader sees is the rank in that order.
ALTER TABLE {{schema}}.memories RENAME COLUMN seq TO position;
ALTER TABLE {{schema}}.memories ALTER COLUMN position TYPE bigint;
DROP INDEX {{schema}}.memories_session_idx;
CREATE INDEX memories_session_idx ON {{schema}}.memories (tenant_id, session_id, position, id);
ALTER TABLE {{schema}}.sessions DROP COLUMN next_seq;

-- One append in one round trip. The session's row lock serialises appends to
-- it; each statement after the lock sees every append committed before (a
-- volatile function takes a fresh snapshot per statement), so positions and
-- ranks are consistent on this provider. Returns nothing when the session is
-- missing (or deleted), or when the id belongs to a message of another session.
CREATE FUNCTION {{schema}}.append_message(
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
