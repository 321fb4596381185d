DROP TABLE IF EXISTS {{schema}}.replication_watermarks;
