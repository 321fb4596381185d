-- Knowledge atoms as the system we replace wrote them: ids of the form
-- manufacturer:product:topic-slug in either case, and its `fault` type. Both
-- constraints are rendered from src/schema/enums.ts, as every enum CHECK is.
ALTER TABLE {{schema}}.knowledge_atoms DROP CONSTRAINT knowledge_atoms_atom_id_check;
ALTER TABLE {{schema}}.knowledge_atoms ADD CONSTRAINT knowledge_atoms_atom_id_check CHECK (atom_id ~ {{atom_id_pattern}});
ALTER TABLE {{schema}}.knowledge_atoms DROP CONSTRAINT knowledge_atoms_atom_type_check;
ALTER TABLE {{schema}}.knowledge_atoms ADD CONSTRAINT knowledge_atoms_atom_type_check CHECK (atom_type IN ({{atom_types}}));
