-- Memory that forms itself: facts, preferences and summaries written from a
-- conversation by the user's model, and a working-memory document per scope.
-- The memory types come from core/enums.ts: the CHECK is rendered again here.
ALTER TABLE {{schema}}.memories DROP CONSTRAINT memories_memory_type_check;
ALTER TABLE {{schema}}.memories ADD CONSTRAINT memories_memory_type_check CHECK (memory_type IN ({{memory_types}}));

-- Each session's watermarks: the position of the last message extraction and
-- summaries have read. They move in the same transaction as the memories they
-- wrote, only from the value the run started at, so a retry, a crash or a
-- second process never reads the same messages twice; replicated with the
-- session, so a failover does not read them again either.
ALTER TABLE {{schema}}.sessions
  ADD COLUMN extracted_position bigint,
  ADD COLUMN summarized_position bigint;

-- A provider's own bookkeeping of formation runs, never replicated: a session a
-- process is forming (until `retry_after`, so two processes do not call the
-- model for the same messages), and one whose last run failed (tried again
-- after a backoff that grows with `attempts`).
CREATE TABLE {{schema}}.formation_claims (
  tenant_id   text        NOT NULL,
  session_id  uuid        NOT NULL,
  kind        text        NOT NULL,
  attempts    integer     NOT NULL DEFAULT 0,
  retry_after timestamptz NOT NULL,
  last_error  text,
  PRIMARY KEY (tenant_id, session_id, kind)
);

-- JSON merge patch (RFC 7396): a working-memory update is merged into the
-- stored document by the server, in the statement that writes it, so updates
-- from several processes at once each apply to the one before and none is lost.
CREATE FUNCTION {{schema}}.jsonb_merge_patch(target jsonb, patch jsonb) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  result jsonb;
  k text;
  v jsonb;
BEGIN
  IF patch IS NULL OR jsonb_typeof(patch) <> 'object' THEN
    RETURN patch;
  END IF;
  result := CASE WHEN jsonb_typeof(target) = 'object' THEN target ELSE '{}'::jsonb END;
  FOR k, v IN SELECT * FROM jsonb_each(patch) LOOP
    IF jsonb_typeof(v) = 'null' THEN
      result := result - k;
    ELSE
      result := jsonb_set(result, ARRAY[k], {{schema}}.jsonb_merge_patch(result -> k, v), true);
    END IF;
  END LOOP;
  RETURN result;
END
$$;

-- A working-memory document's size in tokens, as the budget counts them: about
-- four characters a token, of a text's characters or an object's JSON text.
CREATE FUNCTION {{schema}}.jsonb_tokens(doc jsonb) RETURNS integer
LANGUAGE sql IMMUTABLE AS $$
  SELECT ceil(length(CASE WHEN jsonb_typeof(doc) = 'string' THEN doc #>> '{}' ELSE coalesce(doc::text, '') END) / 4.0)::integer
$$;

-- A working-memory update's new document: the patch merged into it, refused
-- (and so the statement, and nothing written) when it would pass the budget.
CREATE FUNCTION {{schema}}.merge_working_memory(doc jsonb, patch jsonb, budget integer) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  merged jsonb := {{schema}}.jsonb_merge_patch(doc, patch);
  tokens integer := {{schema}}.jsonb_tokens(merged);
BEGIN
  IF tokens > budget THEN
    RAISE EXCEPTION 'working memory would take % tokens, over its budget of %', tokens, budget USING ERRCODE = 'check_violation';
  END IF;
  RETURN merged;
END
$$;
