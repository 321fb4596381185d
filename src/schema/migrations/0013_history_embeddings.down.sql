-- Embeddings back into the history's JSON rows (as their array literal), and 0009's trigger.
UPDATE {{schema}}.change_history
   SET new_row = CASE WHEN new_embedding IS NULL THEN new_row ELSE new_row || jsonb_build_object('embedding', new_embedding::text) END,
       old_row = CASE WHEN old_embedding IS NULL THEN old_row ELSE old_row || jsonb_build_object('embedding', old_embedding::text) END
 WHERE new_embedding IS NOT NULL OR old_embedding IS NOT NULL;
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
ALTER TABLE {{schema}}.change_history DROP COLUMN old_embedding, DROP COLUMN new_embedding;
