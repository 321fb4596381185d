-- The metadata index of 0015: the tenant and the metadata as one document. btree_gin stays (other objects may use it).
DROP INDEX {{schema}}.knowledge_atoms_metadata_idx;
CREATE INDEX knowledge_atoms_metadata_idx ON {{schema}}.knowledge_atoms
  USING gin ((jsonb_set(jsonb_object(ARRAY['t', tenant_id]), '{m}', metadata)) jsonb_path_ops);
