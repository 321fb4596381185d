-- What a filtered search at a million atoms reads per row: the row
-- itself, and the tenant's every index entry.
--
-- 1. Embeddings out of line again (STORAGE EXTERNAL, the default toast target),
--    undoing 0012. 0012 kept an embedding of up to ~1,900 dimensions in its row
--    because exact ranking read every candidate's floats and a TOAST lookup for
--    each cost three times as much. Since 0019 a filter of more than a hundred
--    rows is ranked by the sign bits kept in the row, and only the nearest few
--    hundred by their floats; the HNSW graph holds copies of its own. What the
--    rows cost now is their width: at 1,536 dimensions a row filled a page, a
--    million atoms were an 8 GB heap read from the OS cache; out of line, 2 GB.
--    Measured on the same million rows in both layouts in one sitting: the 1%
--    metadata filter's text half p50 38 -> 19 ms, its vector half 48 -> 42 ms.
--
-- 2. A metadata filter is found by keys of its tenant's own. 0020's index held
--    the tenant as a key (btree_gin): every search read the tenant's whole
--    posting list, an entry per atom, to intersect it with the metadata's (6.7
--    ms of a 1% filter's scan at a million atoms in one tenant; 1.8 ms through
--    the tokens, measured on the same rows). Each atom now
--    keeps `metadata_tokens`: a 64-bit hash of the tenant with each scalar of
--    its metadata and the path of keys to it (a generated column), under GIN.
--    A filter's own tokens (computed once per search) are looked up there:
--    only its tenant's matching rows carry them, and GIN answers @> over
--    arrays exactly, so no row is checked against an index expression. The
--    filter (metadata @> $m) is still checked on each row found: a hash may
--    collide, and the elements of an array are not kept apart.
--
-- Adding the column rewrites the table and rebuilds its indexes, which also
-- moves the embeddings of existing rows out of line: 89 s for a million atoms
-- of 1,536 dimensions on 2 cores without the HNSW graph (0019's took 67 s),
-- whose rebuild adds about 40 s per 100,000 atoms.
ALTER TABLE {{schema}}.knowledge_atoms ALTER COLUMN embedding SET STORAGE EXTERNAL;
ALTER TABLE {{schema}}.knowledge_atoms RESET (toast_tuple_target);

-- One scalar of a metadata document as a token's text: its path of keys ('[]'
-- for an array's elements) and its value, numbers as jsonb compares them (1.50 = 1.5).
CREATE FUNCTION {{schema}}.metadata_leaf(path text, value jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT path || '=' || CASE jsonb_typeof(value)
    WHEN 'number' THEN 'n' || trim_scale((value #>> '{}')::numeric)::text
    WHEN 'string' THEN 's' || (value #>> '{}')
    ELSE value::text END
$$;

-- The tokens of a tenant's metadata document (or of a filter on it).
CREATE FUNCTION {{schema}}.metadata_tokens(tenant text, doc jsonb) RETURNS bigint[]
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
AS $$
DECLARE
  prefix text := length(tenant) || ':' || tenant;
BEGIN
  -- The usual document, one level of scalars: one pass over its keys. (Strict: in lax mode the
  -- path would look inside an array and see its elements' types, not the array.)
  IF jsonb_typeof(doc) = 'object' AND NOT jsonb_path_exists(doc, 'strict $.* ? (@.type() == "object" || @.type() == "array")') THEN
    RETURN (SELECT coalesce(array_agg(hashtextextended(prefix || {{schema}}.metadata_leaf('.' || to_jsonb(o.key)::text, o.value), 0)), '{}')
              FROM jsonb_each(doc) o);
  END IF;
  RETURN (
    WITH RECURSIVE walk(path, value) AS (
      SELECT ''::text, doc
      UNION ALL
      SELECT w.path || e.step, e.value
        FROM walk w, LATERAL (
          SELECT '.' || to_jsonb(o.key)::text AS step, o.value
            FROM jsonb_each(CASE WHEN jsonb_typeof(w.value) = 'object' THEN w.value END) o
          UNION ALL
          SELECT '[]', a.value
            FROM jsonb_array_elements(CASE WHEN jsonb_typeof(w.value) = 'array' THEN w.value END) a
        ) e
    )
    SELECT coalesce(array_agg(DISTINCT hashtextextended(prefix || {{schema}}.metadata_leaf(path, value), 0)), '{}')
      FROM walk WHERE jsonb_typeof(value) NOT IN ('object', 'array')
  );
END
$$;

ALTER TABLE {{schema}}.knowledge_atoms
  ADD COLUMN metadata_tokens bigint[] GENERATED ALWAYS AS ({{schema}}.metadata_tokens(tenant_id, metadata)) STORED;
DROP INDEX {{schema}}.knowledge_atoms_metadata_idx;
CREATE INDEX knowledge_atoms_metadata_idx ON {{schema}}.knowledge_atoms USING gin (metadata_tokens);
