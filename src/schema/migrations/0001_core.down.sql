-- Reverts 0001_core. The vector extension is left in place: other schemas may use it.
DROP TABLE IF EXISTS {{schema}}.settings;
DROP TABLE IF EXISTS {{schema}}.knowledge_atoms;
DROP TABLE IF EXISTS {{schema}}.memories;
DROP TABLE IF EXISTS {{schema}}.sessions;
DROP FUNCTION IF EXISTS {{schema}}.capture_change();
DROP FUNCTION IF EXISTS {{schema}}.keywords_text(text[]);
DROP FUNCTION IF EXISTS {{schema}}.cosine_distance(real[], real[]);
