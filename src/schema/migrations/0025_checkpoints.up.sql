-- LangGraph checkpoints: each thread's state, step by step, its channels'
-- values, and the writes of the tasks of a step, kept like every other record
-- of a tenant — replicated (version, origin, tombstones), guarded by row-level
-- security, backed up, and erased with the thread's session or user
-- (session_id: the session the thread is). Not in the change history: a
-- checkpoint is itself a history.
-- A value is stored as the checkpointer's serializer made it: its type, and
-- its bytes as UTF-8 text for "json", base64 otherwise.
CREATE TABLE {{schema}}.checkpoints (
  tenant_id            text        NOT NULL,
  thread_id            text        NOT NULL,
  checkpoint_ns        text        NOT NULL,
  checkpoint_id        text        NOT NULL,
  session_id           uuid        NOT NULL,
  parent_checkpoint_id text,
  checkpoint_type      text        NOT NULL,
  checkpoint           text        NOT NULL,
  metadata             jsonb       NOT NULL,
  created_at           timestamptz NOT NULL,
  version              bigint      NOT NULL,
  origin               text        NOT NULL,
  deleted_at           timestamptz,
  change_xid           xid8        NOT NULL DEFAULT pg_current_xact_id(),
  CONSTRAINT checkpoints_pkey PRIMARY KEY (tenant_id, thread_id, checkpoint_ns, checkpoint_id)
);
CREATE INDEX checkpoints_change_idx ON {{schema}}.checkpoints (change_xid);
CREATE INDEX checkpoints_session_idx ON {{schema}}.checkpoints (tenant_id, session_id);
CREATE TRIGGER checkpoints_capture_change BEFORE INSERT OR UPDATE ON {{schema}}.checkpoints
  FOR EACH ROW EXECUTE FUNCTION {{schema}}.capture_change();

-- Channel values, once per channel and version: a checkpoint names the version
-- of each channel, and a value that did not change is not stored again.
CREATE TABLE {{schema}}.checkpoint_blobs (
  tenant_id     text        NOT NULL,
  thread_id     text        NOT NULL,
  checkpoint_ns text        NOT NULL,
  channel         text        NOT NULL,
  channel_version text        NOT NULL,
  session_id      uuid        NOT NULL,
  value_type      text        NOT NULL,
  value           text,
  created_at      timestamptz NOT NULL,
  version         bigint      NOT NULL,
  origin        text        NOT NULL,
  deleted_at    timestamptz,
  change_xid    xid8        NOT NULL DEFAULT pg_current_xact_id(),
  CONSTRAINT checkpoint_blobs_pkey PRIMARY KEY (tenant_id, thread_id, checkpoint_ns, channel, channel_version)
);
CREATE INDEX checkpoint_blobs_change_idx ON {{schema}}.checkpoint_blobs (change_xid);
CREATE INDEX checkpoint_blobs_session_idx ON {{schema}}.checkpoint_blobs (tenant_id, session_id);
CREATE TRIGGER checkpoint_blobs_capture_change BEFORE INSERT OR UPDATE ON {{schema}}.checkpoint_blobs
  FOR EACH ROW EXECUTE FUNCTION {{schema}}.capture_change();

CREATE TABLE {{schema}}.checkpoint_writes (
  tenant_id     text        NOT NULL,
  thread_id     text        NOT NULL,
  checkpoint_ns text        NOT NULL,
  checkpoint_id text        NOT NULL,
  task_id       text        NOT NULL,
  idx           integer     NOT NULL,
  session_id    uuid        NOT NULL,
  channel       text        NOT NULL,
  value_type    text        NOT NULL,
  value         text        NOT NULL,
  task_path     text        NOT NULL,
  created_at    timestamptz NOT NULL,
  version       bigint      NOT NULL,
  origin        text        NOT NULL,
  deleted_at    timestamptz,
  change_xid    xid8        NOT NULL DEFAULT pg_current_xact_id(),
  CONSTRAINT checkpoint_writes_pkey PRIMARY KEY (tenant_id, thread_id, checkpoint_ns, checkpoint_id, task_id, idx)
);
CREATE INDEX checkpoint_writes_change_idx ON {{schema}}.checkpoint_writes (change_xid);
CREATE INDEX checkpoint_writes_session_idx ON {{schema}}.checkpoint_writes (tenant_id, session_id);
CREATE TRIGGER checkpoint_writes_capture_change BEFORE INSERT OR UPDATE ON {{schema}}.checkpoint_writes
  FOR EACH ROW EXECUTE FUNCTION {{schema}}.capture_change();

ALTER TABLE {{schema}}.checkpoints ENABLE ROW LEVEL SECURITY;
ALTER TABLE {{schema}}.checkpoint_blobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE {{schema}}.checkpoint_writes ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON {{schema}}.checkpoints
  USING (tenant_id = current_setting('agentmem.tenant_id', true));
CREATE POLICY tenant_isolation ON {{schema}}.checkpoint_blobs
  USING (tenant_id = current_setting('agentmem.tenant_id', true));
CREATE POLICY tenant_isolation ON {{schema}}.checkpoint_writes
  USING (tenant_id = current_setting('agentmem.tenant_id', true));
