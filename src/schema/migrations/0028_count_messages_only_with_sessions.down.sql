CREATE OR REPLACE FUNCTION {{schema}}.count_inserted_messages() RETURNS trigger
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
