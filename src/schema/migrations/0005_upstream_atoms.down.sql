-- Rows that only the wider rules allow must go before the old constraints can come back.
ALTER TABLE {{schema}}.knowledge_atoms DROP CONSTRAINT knowledge_atoms_atom_id_check;
ALTER TABLE {{schema}}.knowledge_atoms ADD CONSTRAINT knowledge_atoms_atom_id_check
  CHECK (atom_id ~ '^[a-z0-9][a-z0-9_-]*:[a-z0-9][a-z0-9._/-]*$');
ALTER TABLE {{schema}}.knowledge_atoms DROP CONSTRAINT knowledge_atoms_atom_type_check;
ALTER TABLE {{schema}}.knowledge_atoms ADD CONSTRAINT knowledge_atoms_atom_type_check
  CHECK (atom_type IN ('concept', 'procedure', 'specification', 'troubleshooting', 'pattern', 'reference', 'faq', 'safety'));
