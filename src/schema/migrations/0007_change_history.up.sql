-- Change history: every versioned change to sessions, memories, knowledge
-- atoms and settings, with the row before and after, so any record can be
-- seen as it was at a time and brought back (`agentmem history`, `--as-of`,
-- `restore --as-of`).
--
-- A change is recorded once, on the provider that took the write; the history
-- row then replicates like any other row (it carries version, origin,
-- deleted_at and change_xid). Rows applied by replication or repair are not
-- recorded again: those transactions set agentmem.replicating = 'on'.
-- The id is derived from (table, record, version), so one change has one id
-- on every provider. A row's own bookkeeping (change_xid, message_count) and
-- generated columns (search) are left out of old_row/new_row, as the table
-- registry says (a test checks the two agree).
CREATE TABLE {{schema}}.change_history (
  tenant_id    text        NOT NULL,
  id           uuid        NOT NULL,
  table_name   text        NOT NULL,
  record_key   text        NOT NULL,
  operation    text        NOT NULL,
  old_row      jsonb,
  new_row      jsonb       NOT NULL,
  row_version  bigint      NOT NULL,
  actor        text,
  changed_at   timestamptz NOT NULL,
  version      bigint      NOT NULL,
  origin       text        NOT NULL,
  deleted_at   timestamptz,
  change_xid   xid8        NOT NULL DEFAULT pg_current_xact_id(),
  CONSTRAINT change_history_pkey PRIMARY KEY (tenant_id, id),
  CONSTRAINT change_history_table_name_check CHECK (table_name IN ('sessions', 'memories', 'knowledge_atoms', 'settings')),
  CONSTRAINT change_history_operation_check CHECK (operation IN ('insert', 'update', 'delete'))
);
CREATE INDEX change_history_record_idx ON {{schema}}.change_history (tenant_id, table_name, record_key, changed_at);
CREATE INDEX change_history_time_idx ON {{schema}}.change_history (tenant_id, changed_at);
CREATE INDEX change_history_change_idx ON {{schema}}.change_history (change_xid);
CREATE TRIGGER change_history_capture_change BEFORE INSERT OR UPDATE ON {{schema}}.change_history
  FOR EACH ROW EXECUTE FUNCTION {{schema}}.capture_change();
ALTER TABLE {{schema}}.change_history ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON {{schema}}.change_history
  USING (tenant_id = current_setting('agentmem.tenant_id', true));

CREATE FUNCTION {{schema}}.record_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  new_row jsonb;
  old_row jsonb;
  record_key text;
  operation text;
BEGIN
  IF current_setting('agentmem.replicating', true) = 'on' THEN
    RETURN NULL;
  END IF;
  -- Local bookkeeping (a session's message_count) changes no version: not a change of the record.
  IF TG_OP = 'UPDATE' AND NEW.version IS NOT DISTINCT FROM OLD.version THEN
    RETURN NULL;
  END IF;
  new_row := to_jsonb(NEW) - '{change_xid,message_count,search}'::text[];
  IF TG_OP = 'UPDATE' THEN
    old_row := to_jsonb(OLD) - '{change_xid,message_count,search}'::text[];
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

CREATE TRIGGER sessions_record_change AFTER INSERT OR UPDATE ON {{schema}}.sessions
  FOR EACH ROW EXECUTE FUNCTION {{schema}}.record_change();
CREATE TRIGGER memories_record_change AFTER INSERT OR UPDATE ON {{schema}}.memories
  FOR EACH ROW EXECUTE FUNCTION {{schema}}.record_change();
CREATE TRIGGER knowledge_atoms_record_change AFTER INSERT OR UPDATE ON {{schema}}.knowledge_atoms
  FOR EACH ROW EXECUTE FUNCTION {{schema}}.record_change();
CREATE TRIGGER settings_record_change AFTER INSERT OR UPDATE ON {{schema}}.settings
  FOR EACH ROW EXECUTE FUNCTION {{schema}}.record_change();
