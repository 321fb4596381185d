DROP FUNCTION {{schema}}.working_memory_tokens(jsonb, integer);
