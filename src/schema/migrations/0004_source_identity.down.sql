ALTER TABLE {{schema}}.replication_watermarks DROP COLUMN IF EXISTS source_system;
