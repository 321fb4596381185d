-- 0017's trigger, recording a change's rows with the columns every provider shares (the table
-- registry's data and replication columns) and nothing else. 0019 and 0021 added generated
-- columns to knowledge_atoms (embedding_bits, metadata_tokens) that 0017's list did not name:
-- every atom's change carried its 1,536 sign bits as text and its metadata tokens, twice for an
-- update. Generated columns are nulled before the row becomes JSON, as the embedding is, so they
-- are not turned into text only to be dropped. Rows recorded before this migration keep them
-- (readers take the shared columns only).
CREATE OR REPLACE FUNCTION {{schema}}.record_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  new_row jsonb;
  old_row jsonb;
  record_key text;
  operation text;
  new_embedding real[];
  old_embedding real[];
  own constant text[] := '{change_xid,message_count,last_position,search,embedding_bits,metadata_tokens}';
BEGIN
  IF current_setting('agentmem.replicating', true) = 'on' THEN
    RETURN NULL;
  END IF;
  -- Local bookkeeping (a session's message_count, last_position) changes no version: not a change of the record.
  IF TG_OP = 'UPDATE' AND NEW.version IS NOT DISTINCT FROM OLD.version THEN
    RETURN NULL;
  END IF;
  -- NEW and OLD are copies here; the stored row keeps every column.
  IF TG_TABLE_NAME = 'knowledge_atoms' THEN
    NEW.embedding_bits := NULL;
    NEW.metadata_tokens := NULL;
    IF TG_OP = 'UPDATE' THEN
      OLD.embedding_bits := NULL;
      OLD.metadata_tokens := NULL;
    END IF;
  END IF;
  IF TG_TABLE_NAME IN ('knowledge_atoms', 'memories') THEN
    -- The embedding goes to its own column, unchanged; in the JSON row it is null.
    new_embedding := NEW.embedding;
    NEW.embedding := NULL;
    NEW.search := NULL;
    IF TG_OP = 'UPDATE' THEN
      old_embedding := OLD.embedding;
      OLD.embedding := NULL;
      OLD.search := NULL;
    END IF;
  END IF;
  new_row := to_jsonb(NEW) - own;
  IF TG_OP = 'UPDATE' THEN
    old_row := to_jsonb(OLD) - own;
  END IF;
  record_key := CASE WHEN TG_TABLE_NAME = 'settings' THEN (new_row->>'category') || '/' || (new_row->>'key') ELSE new_row->>'id' END;
  operation := CASE
    WHEN NEW.deleted_at IS NOT NULL AND (old_row IS NULL OR OLD.deleted_at IS NULL) THEN 'delete'
    WHEN old_row IS NULL OR OLD.deleted_at IS NOT NULL THEN 'insert'
    ELSE 'update' END;
  INSERT INTO {{schema}}.change_history
    (tenant_id, id, table_name, record_key, operation, old_row, new_row, old_embedding, new_embedding, row_version, actor,
     changed_at, version, origin)
  VALUES
    (NEW.tenant_id, md5(TG_TABLE_NAME || '/' || record_key || '/' || NEW.version::text)::uuid, TG_TABLE_NAME, record_key,
     operation, old_row, new_row, old_embedding, new_embedding, NEW.version, nullif(current_setting('agentmem.actor', true), ''),
     clock_timestamp(), NEW.version, NEW.origin)
  ON CONFLICT (tenant_id, id) DO NOTHING;
  RETURN NULL;
END
$$;
