-- Supersession links, duplicate links, content hashes and the erasure ledger go.
DROP FUNCTION {{schema}}.nearest_memory(text, text, text, real[], integer);
DROP TABLE {{schema}}.erasures;
DROP INDEX {{schema}}.memories_content_hash_idx;
DROP INDEX {{schema}}.memories_type_idx;
CREATE INDEX memories_type_idx ON {{schema}}.memories (tenant_id, memory_type, created_at DESC);
ALTER TABLE {{schema}}.memories
  DROP COLUMN content_hash,
  DROP COLUMN duplicate_of,
  DROP COLUMN supersedes,
  DROP COLUMN superseded_by,
  DROP COLUMN valid_to;
