DROP TRIGGER memories_count_inserted_messages ON {{schema}}.memories;
DROP FUNCTION {{schema}}.count_inserted_messages();
DROP TRIGGER memories_count_messages ON {{schema}}.memories;
CREATE TRIGGER memories_count_messages AFTER INSERT OR UPDATE OR DELETE ON {{schema}}.memories
  FOR EACH ROW EXECUTE FUNCTION {{schema}}.count_messages();
