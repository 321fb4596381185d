-- The metadata index of 0008: every tenant's metadata, alone.
DROP INDEX {{schema}}.knowledge_atoms_metadata_idx;
CREATE INDEX knowledge_atoms_metadata_idx ON {{schema}}.knowledge_atoms USING gin (metadata jsonb_path_ops);
