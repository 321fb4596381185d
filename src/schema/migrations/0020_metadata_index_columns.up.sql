-- A metadata filter checks each row it finds against plain columns.
-- 0015 indexed an expression, {"t": tenant, "m": metadata}, so that one index
-- finds one tenant's rows; but a GIN index on jsonb always has its rows checked
-- again, and that check built the document again for every row: ~1 µs each,
-- 10 of the 35 ms that ranking the 10,000 rows of a 1% filter at a million
-- atoms takes. Indexed now: the metadata column itself, and the tenant through
-- btree_gin (a contrib extension, trusted since PostgreSQL 13: the database's
-- owner may create it; Neon, Supabase, RDS, Debian's packages and PGlite ship
-- it). Measured at 100k atoms, a 10% filter (10,011 rows): the scan of sign
-- bits took 26-36 ms instead of 34-50.
--
-- The tenant is indexed as (tenant_id || ''), which a metadata filter names
-- (memory/atom-rows.ts) and nothing else does: a query by tenant alone keeps
-- to the btree indexes, whose scans can stop at a LIMIT, instead of reading
-- the tenant's every row out of this one.
--
-- Where btree_gin cannot be created, the index holds the metadata alone (as
-- 0008's did): the same filter is still served by it, but it also finds other
-- tenants' rows with the same metadata.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'btree_gin')
     AND NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'btree_gin') THEN
    BEGIN
      CREATE EXTENSION btree_gin;
    EXCEPTION WHEN insufficient_privilege THEN
      RAISE NOTICE 'btree_gin is available but this role may not create it; the metadata index will not hold the tenant';
    END;
  END IF;
END
$$;

DROP INDEX {{schema}}.knowledge_atoms_metadata_idx;
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'btree_gin') THEN
    CREATE INDEX knowledge_atoms_metadata_idx ON {{schema}}.knowledge_atoms USING gin ((tenant_id || ''), metadata jsonb_path_ops);
  ELSE
    CREATE INDEX knowledge_atoms_metadata_idx ON {{schema}}.knowledge_atoms USING gin (metadata jsonb_path_ops);
  END IF;
END
$$;
