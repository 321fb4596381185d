-- remember() sends its statement itself again.
DROP FUNCTION {{schema}}.remember_memory(text, uuid, uuid, text, text, jsonb, jsonb, real, timestamptz, timestamptz, bigint, text,
  text, boolean, real[], text, integer, integer, double precision);
