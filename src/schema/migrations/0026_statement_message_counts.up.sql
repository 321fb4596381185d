-- A session's message count and last position, kept once per statement for
-- inserts instead of once per row.
--
-- The row trigger updated the session row for every message inserted. In one
-- statement of N messages that is N versions of one row in one transaction,
-- each found by walking the versions before it: quadratic in the length of a
-- transcript saved or imported at once.
--
-- Inserts are now counted by a statement trigger over the rows the statement
-- inserted, one update per session. Updates and deletes (one row at a time:
-- a delete, a message brought back, a replicated change) keep the row trigger.
-- The arithmetic is the row trigger's, summed: live messages are counted,
-- and the last position is the highest position inserted.
DROP TRIGGER memories_count_messages ON {{schema}}.memories;
CREATE TRIGGER memories_count_messages AFTER UPDATE OR DELETE ON {{schema}}.memories
  FOR EACH ROW EXECUTE FUNCTION {{schema}}.count_messages();

CREATE FUNCTION {{schema}}.count_inserted_messages() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  UPDATE {{schema}}.sessions s
     SET message_count = s.message_count + n.live, last_position = greatest(s.last_position, n.top)
    FROM (SELECT tenant_id, session_id,
                 count(*) FILTER (WHERE deleted_at IS NULL AND memory_type IN ({{message_types}})) AS live,
                 max(position) AS top
            FROM inserted
           WHERE session_id IS NOT NULL
           GROUP BY tenant_id, session_id) n
   WHERE s.tenant_id = n.tenant_id AND s.id = n.session_id AND (n.live > 0 OR n.top > s.last_position);
  RETURN NULL;
END
$$;
CREATE TRIGGER memories_count_inserted_messages AFTER INSERT ON {{schema}}.memories
  REFERENCING NEW TABLE AS inserted
  FOR EACH STATEMENT EXECUTE FUNCTION {{schema}}.count_inserted_messages();
