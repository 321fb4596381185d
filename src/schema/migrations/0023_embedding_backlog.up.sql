-- Recall by meaning: memories and messages are embedded off the write path.
-- What waits for an embedding is every live row without one (of the types the
-- config embeds): this index finds the oldest of them without reading the rest.
CREATE INDEX memories_embedding_backlog_idx ON {{schema}}.memories (created_at)
  WHERE embedding IS NULL AND deleted_at IS NULL AND namespace IS NULL;

-- The embedding worker's own bookkeeping on this provider, never replicated:
-- rows a worker has taken (until `retry_after`, so two workers never embed the
-- same row and a crashed one's rows come back), and rows whose embedding
-- failed (tried again after a backoff that grows with `attempts`).
CREATE TABLE {{schema}}.embedding_claims (
  tenant_id   text        NOT NULL,
  id          uuid        NOT NULL,
  attempts    integer     NOT NULL DEFAULT 0,
  retry_after timestamptz NOT NULL,
  last_error  text,
  PRIMARY KEY (tenant_id, id)
);

-- Which models the stored vectors came from: a configured embedder that
-- differs from them is found at once (an index probe, not a scan), and
-- refused instead of comparing vectors of two models.
CREATE INDEX memories_embedding_model_idx ON {{schema}}.memories (embedding_model, embedding_dim)
  WHERE embedding IS NOT NULL AND namespace IS NULL;

-- Re-embedding with another model: the new vectors wait here (this provider's
-- own bookkeeping, never replicated) until every row has one, while searches
-- keep answering from the old vectors; then one transaction switches them in.
CREATE TABLE {{schema}}.embedding_staging (
  tenant_id text    NOT NULL,
  id        uuid    NOT NULL,
  model     text    NOT NULL,
  dim       integer NOT NULL,
  embedding real[]  NOT NULL,
  PRIMARY KEY (model, tenant_id, id)
);

-- Memories and messages are recalled within a scope (a user's, an agent's, a
-- session's rows, found through their btree indexes) and ranked exactly there;
-- near-duplicates are looked for in a window of recent rows. No query walks
-- the memories' HNSW graph, and keeping it cost every stored embedding an
-- insertion into it: half of the embedding worker's time.
DROP INDEX IF EXISTS {{schema}}.memories_embedding_hnsw_idx;
