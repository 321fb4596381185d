-- The change history keeps an embedding as real[] in a column of its own.
-- 0009 kept it inside the row's JSON as its array literal, and printing
-- 1,536 floats as decimal text was 45% of an atom's whole write
-- (0.19 of 0.42 ms). The column takes the stored array as it is; readers put
-- it back into the row (core/as-of.ts historyRow). History recorded before this
-- keeps its embedding in the JSON, which the readers take as it is.
ALTER TABLE {{schema}}.change_history ADD COLUMN old_embedding real[], ADD COLUMN new_embedding real[];
-- Floats do not compress: out of line, uncompressed (as 0009 stores the tables' own embeddings).
ALTER TABLE {{schema}}.change_history
  ALTER COLUMN old_embedding SET STORAGE EXTERNAL,
  ALTER COLUMN new_embedding SET STORAGE EXTERNAL;

CREATE OR REPLACE FUNCTION {{schema}}.record_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  new_row jsonb;
  old_row jsonb;
  record_key text;
  operation text;
  new_embedding real[];
  old_embedding real[];
BEGIN
  IF current_setting('agentmem.replicating', true) = 'on' THEN
    RETURN NULL;
  END IF;
  -- Local bookkeeping (a session's message_count) changes no version: not a change of the record.
  IF TG_OP = 'UPDATE' AND NEW.version IS NOT DISTINCT FROM OLD.version THEN
    RETURN NULL;
  END IF;
  IF TG_TABLE_NAME IN ('knowledge_atoms', 'memories') THEN
    -- The embedding goes to its own column, unchanged; in the JSON row it is null.
    -- NEW and OLD are copies here; the stored row keeps its embedding.
    new_embedding := NEW.embedding;
    NEW.embedding := NULL;
    new_row := to_jsonb(NEW) - '{change_xid,message_count,search}'::text[];
    IF TG_OP = 'UPDATE' THEN
      old_embedding := OLD.embedding;
      OLD.embedding := NULL;
      old_row := to_jsonb(OLD) - '{change_xid,message_count,search}'::text[];
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
