-- addMessages and save send their statements themselves again.
DROP FUNCTION {{schema}}.append_messages(text, uuid, jsonb, bigint, text);
