-- Replication bookkeeping: how far each source's changes have been applied here,
-- per table. Written in the same transaction as the rows it covers, so a
-- watermark never runs ahead of the data (exactly-once effect).
CREATE TABLE {{schema}}.replication_watermarks (
  source      text        NOT NULL,
  table_name  text        NOT NULL,
  position    xid8        NOT NULL,
  rows_total  bigint      NOT NULL DEFAULT 0,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT replication_watermarks_pkey PRIMARY KEY (source, table_name)
);
