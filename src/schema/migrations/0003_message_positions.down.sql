DROP FUNCTION IF EXISTS {{schema}}.append_message(text, uuid, uuid, text, jsonb, jsonb, timestamptz, bigint, text);
ALTER TABLE {{schema}}.sessions ADD COLUMN next_seq integer NOT NULL DEFAULT 0;
-- Positions back to 0-based ranks per session (clock values do not fit an integer).
UPDATE {{schema}}.memories m SET position = r.rank
  FROM (SELECT tenant_id, id, row_number() OVER (PARTITION BY tenant_id, session_id ORDER BY position, id) - 1 AS rank
          FROM {{schema}}.memories WHERE position IS NOT NULL) r
 WHERE m.tenant_id = r.tenant_id AND m.id = r.id;
UPDATE {{schema}}.sessions s SET next_seq = coalesce((SELECT max(m.position) + 1 FROM {{schema}}.memories m
  WHERE m.tenant_id = s.tenant_id AND m.session_id = s.id), 0);
DROP INDEX {{schema}}.memories_session_idx;
ALTER TABLE {{schema}}.memories ALTER COLUMN position TYPE integer;
ALTER TABLE {{schema}}.memories RENAME COLUMN position TO seq;
CREATE INDEX memories_session_idx ON {{schema}}.memories (tenant_id, session_id, seq, created_at);
