-- A metadata filter finds one tenant's rows through one index. The
-- index of 0008 held every tenant's metadata, so a filter that keeps 1% of a
-- tenant matched the same metadata in every other tenant too, and the planner
-- ANDed it with the tenant's whole btree range (a bitmap of 100,000 rows: 8
-- of a 15 ms search). Indexed now: the tenant and the metadata in one
-- document, {"t": tenant, "m": metadata} (immutable functions only), which a
-- filter queries with its tenant included (memory/atom-rows.ts, METADATA_DOC).
DROP INDEX {{schema}}.knowledge_atoms_metadata_idx;
CREATE INDEX knowledge_atoms_metadata_idx ON {{schema}}.knowledge_atoms
  USING gin ((jsonb_set(jsonb_object(ARRAY['t', tenant_id]), '{m}', metadata)) jsonb_path_ops);
