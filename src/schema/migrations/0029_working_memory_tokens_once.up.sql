-- A working-memory update counted the merged document's tokens twice: once to
-- hold it to the budget (merge_working_memory) and once more for the answer,
-- each a conversion of the whole document to text. The update now counts once,
-- in its RETURNING, with this function, which also refuses a document past the
-- budget; raising there undoes the statement, as the check before it did.
CREATE FUNCTION {{schema}}.working_memory_tokens(doc jsonb, budget integer) RETURNS integer
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  tokens integer := {{schema}}.jsonb_tokens(doc);
BEGIN
  IF tokens > budget THEN
    RAISE EXCEPTION 'working memory would take % tokens, over its budget of %', tokens, budget USING ERRCODE = 'check_violation';
  END IF;
  RETURN tokens;
END
$$;
