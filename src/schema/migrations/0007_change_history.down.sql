DROP TRIGGER IF EXISTS sessions_record_change ON {{schema}}.sessions;
DROP TRIGGER IF EXISTS memories_record_change ON {{schema}}.memories;
DROP TRIGGER IF EXISTS knowledge_atoms_record_change ON {{schema}}.knowledge_atoms;
DROP TRIGGER IF EXISTS settings_record_change ON {{schema}}.settings;
DROP FUNCTION IF EXISTS {{schema}}.record_change();
DROP TABLE IF EXISTS {{schema}}.change_history;
