-- Which server a watermark's positions belong to. A provider moved to a
-- restored or replaced server (same name, new URL) has a transaction counter
-- that restarted below the stored position; change capture would skip every
-- new write on it. The replicator compares this (the server's system
-- identifier, where the role may read it) and the counter itself, and
-- re-captures from a server it no longer recognises.
ALTER TABLE {{schema}}.replication_watermarks ADD COLUMN source_system text;
