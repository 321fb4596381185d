-- agentmem v1: sessions, memories, knowledge atoms, settings.
-- {{...}} placeholders are filled in by the migrator: {{schema}} from config,
-- the enum lists from src/schema/enums.ts (never typed twice).
-- Every primary key starts with tenant_id; every replicated row carries
-- version (hybrid logical clock), origin, deleted_at (tombstone) and change_xid
-- (the transaction that last wrote it, for change capture).

CREATE SCHEMA IF NOT EXISTS {{schema}};

-- pgvector where the server offers it and we may create it; without it,
-- vector search falls back to exact cosine over the real[] column.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector')
     AND NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector') THEN
    BEGIN
      CREATE EXTENSION vector;
    EXCEPTION WHEN insufficient_privilege THEN
      RAISE NOTICE 'pgvector is available but this role may not create it; vector search will be exact';
    END;
  END IF;
END
$$;

-- Exact cosine distance over real[]: the fallback where pgvector is missing.
CREATE FUNCTION {{schema}}.cosine_distance(a real[], b real[]) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT 1 - sum(x * y) / nullif(sqrt(sum(x * x)) * sqrt(sum(y * y)), 0)
  FROM unnest(a, b) AS t(x, y)
$$;

-- Marks a row as changed by this transaction for change capture. Only versioned
-- changes count: local bookkeeping (a session's next_seq) changes no version,
-- so it is not re-shipped by replication and the update can stay HOT.
CREATE FUNCTION {{schema}}.capture_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.version IS NOT DISTINCT FROM OLD.version THEN
    RETURN NEW;
  END IF;
  NEW.change_xid := pg_current_xact_id();
  RETURN NEW;
END
$$;

-- array_to_string() is only STABLE; keywords are plain text, so this wrapper is
-- safe to declare IMMUTABLE for use in a generated search column.
CREATE FUNCTION {{schema}}.keywords_text(keywords text[]) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT array_to_string(keywords, ' ') $$;

CREATE TABLE {{schema}}.sessions (
  tenant_id   text        NOT NULL,
  id          uuid        NOT NULL,
  agent_id    text,
  user_id     text,
  title       text,
  metadata    jsonb       NOT NULL DEFAULT '{}'::jsonb,
  started_at  timestamptz NOT NULL DEFAULT now(),
  ended_at    timestamptz,
  -- The next message position. Appends bump it in the same statement that
  -- inserts the message, so concurrent appends get distinct positions.
  next_seq    integer     NOT NULL DEFAULT 0,
  version     bigint      NOT NULL,
  origin      text        NOT NULL,
  deleted_at  timestamptz,
  change_xid  xid8        NOT NULL DEFAULT pg_current_xact_id(),
  CONSTRAINT sessions_pkey PRIMARY KEY (tenant_id, id)
);
CREATE INDEX sessions_agent_idx ON {{schema}}.sessions (tenant_id, agent_id, started_at DESC);
CREATE INDEX sessions_user_idx ON {{schema}}.sessions (tenant_id, user_id, started_at DESC);
CREATE INDEX sessions_change_idx ON {{schema}}.sessions (change_xid);
CREATE TRIGGER sessions_capture_change BEFORE INSERT OR UPDATE ON {{schema}}.sessions
  FOR EACH ROW EXECUTE FUNCTION {{schema}}.capture_change();

CREATE TABLE {{schema}}.memories (
  tenant_id       text        NOT NULL,
  id              uuid        NOT NULL,
  session_id      uuid,
  user_id         text,
  memory_type     text        NOT NULL,
  seq             integer,
  -- Nullable: JSON null and SQL NULL are the same value to agentmem (replication
  -- moves rows as JSON, where the two cannot be told apart).
  content         jsonb,
  metadata        jsonb       NOT NULL DEFAULT '{}'::jsonb,
  importance      real        NOT NULL DEFAULT 0.5,
  created_at      timestamptz NOT NULL DEFAULT now(),
  expires_at      timestamptz,
  search          tsvector    GENERATED ALWAYS AS (jsonb_to_tsvector('english'::regconfig, content, '["string"]'::jsonb)) STORED,
  embedding       real[],
  embedding_model text,
  embedding_dim   integer,
  version         bigint      NOT NULL,
  origin          text        NOT NULL,
  deleted_at      timestamptz,
  change_xid      xid8        NOT NULL DEFAULT pg_current_xact_id(),
  CONSTRAINT memories_pkey PRIMARY KEY (tenant_id, id),
  CONSTRAINT memories_memory_type_check CHECK (memory_type IN ({{memory_types}})),
  CONSTRAINT memories_importance_check CHECK (importance >= 0 AND importance <= 1),
  CONSTRAINT memories_embedding_dim_check CHECK (embedding IS NULL OR cardinality(embedding) = embedding_dim)
);
CREATE INDEX memories_session_idx ON {{schema}}.memories (tenant_id, session_id, seq, created_at);
CREATE INDEX memories_user_idx ON {{schema}}.memories (tenant_id, user_id, created_at DESC);
CREATE INDEX memories_type_idx ON {{schema}}.memories (tenant_id, memory_type, created_at DESC);
CREATE INDEX memories_search_idx ON {{schema}}.memories USING gin (search);
CREATE INDEX memories_expires_idx ON {{schema}}.memories (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX memories_change_idx ON {{schema}}.memories (change_xid);
CREATE TRIGGER memories_capture_change BEFORE INSERT OR UPDATE ON {{schema}}.memories
  FOR EACH ROW EXECUTE FUNCTION {{schema}}.capture_change();

CREATE TABLE {{schema}}.knowledge_atoms (
  tenant_id         text        NOT NULL,
  id                uuid        NOT NULL,
  atom_id           text        NOT NULL,
  atom_type         text        NOT NULL,
  title             text        NOT NULL,
  summary           text,
  content           text        NOT NULL,
  manufacturer      text,
  product_family    text,
  product_version   text,
  difficulty        text,
  prerequisites     text[]      NOT NULL DEFAULT '{}',
  related_atoms     text[]      NOT NULL DEFAULT '{}',
  source_document   text,
  source_pages      text,
  source_url        text,
  quality_score     real,
  safety_level      text,
  safety_notes      text,
  keywords          text[]      NOT NULL DEFAULT '{}',
  citations         jsonb       NOT NULL DEFAULT '[]'::jsonb,
  metadata          jsonb       NOT NULL DEFAULT '{}'::jsonb,
  created_at        timestamptz NOT NULL DEFAULT now(),
  last_validated_at timestamptz,
  search            tsvector    GENERATED ALWAYS AS (
    setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A') ||
    setweight(to_tsvector('english'::regconfig, coalesce(summary, '')), 'B') ||
    setweight(to_tsvector('english'::regconfig, {{schema}}.keywords_text(keywords)), 'B') ||
    setweight(to_tsvector('english'::regconfig, coalesce(content, '')), 'C')
  ) STORED,
  embedding         real[],
  embedding_model   text,
  embedding_dim     integer,
  version           bigint      NOT NULL,
  origin            text        NOT NULL,
  deleted_at        timestamptz,
  change_xid        xid8        NOT NULL DEFAULT pg_current_xact_id(),
  CONSTRAINT knowledge_atoms_pkey PRIMARY KEY (tenant_id, id),
  CONSTRAINT knowledge_atoms_atom_id_key UNIQUE (tenant_id, atom_id),
  CONSTRAINT knowledge_atoms_atom_id_check CHECK (atom_id ~ '^[a-z0-9][a-z0-9_-]*:[a-z0-9][a-z0-9._/-]*$'),
  CONSTRAINT knowledge_atoms_atom_type_check CHECK (atom_type IN ({{atom_types}})),
  CONSTRAINT knowledge_atoms_difficulty_check CHECK (difficulty IS NULL OR difficulty IN ({{difficulty_levels}})),
  CONSTRAINT knowledge_atoms_safety_level_check CHECK (safety_level IS NULL OR safety_level IN ({{safety_levels}})),
  CONSTRAINT knowledge_atoms_quality_score_check CHECK (quality_score IS NULL OR (quality_score >= 0 AND quality_score <= 1)),
  CONSTRAINT knowledge_atoms_embedding_dim_check CHECK (embedding IS NULL OR cardinality(embedding) = embedding_dim)
);
CREATE INDEX knowledge_atoms_search_idx ON {{schema}}.knowledge_atoms USING gin (search);
CREATE INDEX knowledge_atoms_type_idx ON {{schema}}.knowledge_atoms (tenant_id, atom_type);
CREATE INDEX knowledge_atoms_change_idx ON {{schema}}.knowledge_atoms (change_xid);
CREATE TRIGGER knowledge_atoms_capture_change BEFORE INSERT OR UPDATE ON {{schema}}.knowledge_atoms
  FOR EACH ROW EXECUTE FUNCTION {{schema}}.capture_change();

CREATE TABLE {{schema}}.settings (
  tenant_id   text        NOT NULL,
  category    text        NOT NULL,
  key         text        NOT NULL,
  id          uuid        NOT NULL,
  value       jsonb,
  description text,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  version     bigint      NOT NULL,
  origin      text        NOT NULL,
  deleted_at  timestamptz,
  change_xid  xid8        NOT NULL DEFAULT pg_current_xact_id(),
  CONSTRAINT settings_pkey PRIMARY KEY (tenant_id, category, key)
);
CREATE INDEX settings_change_idx ON {{schema}}.settings (change_xid);
CREATE TRIGGER settings_capture_change BEFORE INSERT OR UPDATE ON {{schema}}.settings
  FOR EACH ROW EXECUTE FUNCTION {{schema}}.capture_change();

-- Embeddings are stored as real[] everywhere (one column type on every provider,
-- so rows replicate between providers with and without pgvector). Where pgvector
-- exists, an HNSW index over the cast serves the configured dimension.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector') THEN
    EXECUTE 'CREATE INDEX knowledge_atoms_embedding_hnsw_idx ON {{schema}}.knowledge_atoms
      USING hnsw ((embedding::vector({{embedding_dim}})) vector_cosine_ops) WHERE embedding_dim = {{embedding_dim}}';
    EXECUTE 'CREATE INDEX memories_embedding_hnsw_idx ON {{schema}}.memories
      USING hnsw ((embedding::vector({{embedding_dim}})) vector_cosine_ops) WHERE embedding_dim = {{embedding_dim}}';
  END IF;
END
$$;

-- Tenant isolation in the database: a role that is not the tables' owner sees
-- only the rows of the tenant named by the session setting agentmem.tenant_id.
ALTER TABLE {{schema}}.sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE {{schema}}.memories ENABLE ROW LEVEL SECURITY;
ALTER TABLE {{schema}}.knowledge_atoms ENABLE ROW LEVEL SECURITY;
ALTER TABLE {{schema}}.settings ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON {{schema}}.sessions
  USING (tenant_id = current_setting('agentmem.tenant_id', true));
CREATE POLICY tenant_isolation ON {{schema}}.memories
  USING (tenant_id = current_setting('agentmem.tenant_id', true));
CREATE POLICY tenant_isolation ON {{schema}}.knowledge_atoms
  USING (tenant_id = current_setting('agentmem.tenant_id', true));
CREATE POLICY tenant_isolation ON {{schema}}.settings
  USING (tenant_id = current_setting('agentmem.tenant_id', true));
