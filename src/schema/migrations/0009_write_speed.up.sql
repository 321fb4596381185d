-- Writes at the speed of Postgres.
--
-- 1. append_message in fewer steps: the insert itself tells whether the id is
-- new (ON CONFLICT … RETURNING), instead of a lookup before it and a second
-- read after it. Same contract as 0006: the session's row lock serialises
-- appends; the new message's index is the session's count before it; a retry
-- of a stored append returns that message, counted; nothing comes back for a
-- missing session or an id that belongs to another session.
--
-- 2. The change history keeps an embedding as text (record_change, below), and
--    compresses its rows with lz4 where the server has it: pglz took four
--    times as long as the rest of an atom's write. Embeddings are stored
--    uncompressed (floats do not compress; trying cost 1.5x the insert).
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
               AND o.memory_type IN ({{message_types}}) AND (o.position, o.id) < (m.position, m.id))
      FROM {{schema}}.memories m
     WHERE m.tenant_id = p_tenant AND m.id = p_id AND m.session_id = p_session AND m.deleted_at IS NULL;
END
$$;

CREATE OR REPLACE FUNCTION {{schema}}.record_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  new_row jsonb;
  old_row jsonb;
  record_key text;
  operation text;
  new_embedding text;
  old_embedding text;
BEGIN
  IF current_setting('agentmem.replicating', true) = 'on' THEN
    RETURN NULL;
  END IF;
  -- Local bookkeeping (a session's message_count) changes no version: not a change of the record.
  IF TG_OP = 'UPDATE' AND NEW.version IS NOT DISTINCT FROM OLD.version THEN
    RETURN NULL;
  END IF;
  IF TG_TABLE_NAME IN ('knowledge_atoms', 'memories') THEN
    -- An embedding is kept as its array literal (a JSON string, which jsonb_populate_record
    -- reads back into real[]): to_jsonb of 1,536 floats as JSON numbers cost more than the
    -- rest of the write. NEW and OLD are copies here; the stored row keeps its embedding.
    new_embedding := NEW.embedding::text;
    NEW.embedding := NULL;
    new_row := to_jsonb(NEW) - '{change_xid,message_count,search}'::text[] || jsonb_build_object('embedding', new_embedding);
    IF TG_OP = 'UPDATE' THEN
      old_embedding := OLD.embedding::text;
      OLD.embedding := NULL;
      old_row := to_jsonb(OLD) - '{change_xid,message_count,search}'::text[] || jsonb_build_object('embedding', old_embedding);
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
    (tenant_id, id, table_name, record_key, operation, old_row, new_row, row_version, actor, changed_at, version, origin)
  VALUES
    (NEW.tenant_id, md5(TG_TABLE_NAME || '/' || record_key || '/' || NEW.version::text)::uuid, TG_TABLE_NAME, record_key,
     operation, old_row, new_row, NEW.version, nullif(current_setting('agentmem.actor', true), ''), clock_timestamp(),
     NEW.version, NEW.origin)
  ON CONFLICT (tenant_id, id) DO NOTHING;
  RETURN NULL;
END
$$;

DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)) THEN
    ALTER TABLE {{schema}}.change_history ALTER COLUMN new_row SET COMPRESSION lz4, ALTER COLUMN old_row SET COMPRESSION lz4;
  END IF;
END
$$;
ALTER TABLE {{schema}}.knowledge_atoms ALTER COLUMN embedding SET STORAGE EXTERNAL;
ALTER TABLE {{schema}}.memories ALTER COLUMN embedding SET STORAGE EXTERNAL;
