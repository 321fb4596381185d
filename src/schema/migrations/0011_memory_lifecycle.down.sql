-- Supersession links, duplicate links, content hashes and the erasure ledger go.
DROP FUNCTION {{schema}}.nearest_memory(text, text, text, real[], integer);
DROP TABLE {{schema}}.erasures;
DROP INDEX {{schema}}.memories_content_hash_idx;
ALTER TABLE {{schema}}.memories
  DROP COLUMN content_hash,
  DROP COLUMN duplicate_of,
  DROP COLUMN supersedes,
  DROP COLUMN superseded_by,
  DROP COLUMN valid_to;
