-- Transcripts as agents write them: tool and developer roles, a
-- speaker's name, assistant tool calls and the call a tool message answers,
-- the framework's own id of a message or a session, and the fields of a
-- framework's format that have no column (kept per format, verbatim).
--
-- An external id is not a second key: the row's id is derived from it
-- (uuidv5 of tenant, session and external id; see core/ids.ts), so the same
-- external id is the same row on every provider and replication needs no new
-- uniqueness rule. The column keeps the id as given, for exports.
--
-- The message types come from core/enums.ts: the CHECK and every function that
-- lists them are rendered again here.
ALTER TABLE {{schema}}.memories DROP CONSTRAINT memories_memory_type_check;
ALTER TABLE {{schema}}.memories ADD CONSTRAINT memories_memory_type_check CHECK (memory_type IN ({{memory_types}}));
ALTER TABLE {{schema}}.memories
  ADD COLUMN name text,
  ADD COLUMN tool_calls jsonb,
  ADD COLUMN tool_call_id text,
  ADD COLUMN external_id text,
  ADD COLUMN extra jsonb;
ALTER TABLE {{schema}}.sessions ADD COLUMN external_id text;

-- Keyed memories (memory.items; LangGraph's store): a namespace path and a key
-- address a memory whose value is replaced in place; the id derives from them.
ALTER TABLE {{schema}}.memories
  ADD COLUMN namespace text[],
  ADD COLUMN item_key text,
  ADD COLUMN updated_at timestamptz;
CREATE INDEX memories_namespace_idx ON {{schema}}.memories (tenant_id, namespace) WHERE namespace IS NOT NULL;

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

-- append_message of 0009 with the new fields (a new signature: the old one goes).
DROP FUNCTION {{schema}}.append_message(text, uuid, uuid, text, jsonb, jsonb, timestamptz, bigint, text);
CREATE FUNCTION {{schema}}.append_message(
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
