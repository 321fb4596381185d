DROP FUNCTION {{schema}}.merge_working_memory(jsonb, jsonb, integer);
DROP FUNCTION {{schema}}.jsonb_tokens(jsonb);
DROP FUNCTION {{schema}}.jsonb_merge_patch(jsonb, jsonb);
DROP TABLE {{schema}}.formation_claims;
ALTER TABLE {{schema}}.sessions DROP COLUMN extracted_position, DROP COLUMN summarized_position;
DELETE FROM {{schema}}.memories WHERE memory_type IN ('fact', 'preference', 'summary', 'working_memory');
ALTER TABLE {{schema}}.memories DROP CONSTRAINT memories_memory_type_check;
ALTER TABLE {{schema}}.memories ADD CONSTRAINT memories_memory_type_check CHECK (memory_type IN (
  'session_metadata', 'message_user', 'message_assistant', 'message_system', 'message_tool', 'message_developer',
  'context', 'action', 'issue', 'decision', 'log'));
