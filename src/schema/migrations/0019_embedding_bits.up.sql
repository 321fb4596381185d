-- Filtered vector search at a million atoms: every atom keeps the
-- signs of its embedding as bits (`embedding_bits`, 1 where a component is
-- above zero: pgvector's binary_quantize), stored in the row.
--
-- A filter that keeps a few thousand rows (a metadata value, a source) is not
-- served well by the HNSW graph, which knows nothing of the filter: the walk
-- visits the rows the filter drops. Ranking the filter's rows exactly casts
-- each one's 1,536 floats to a vector and computes a distance (80 ms for the
-- 10,000 rows of a 1% filter at a million atoms). The bits are 192 bytes in
-- the row: the search ranks the filter's rows by Hamming distance over them
-- (33-38 ms there), then ranks the nearest few hundred again exactly.
--
-- A generated column: each provider computes it from the embedding, so
-- replication, history and backups carry the embedding alone (registry role
-- `generated`). Adding it rewrites the table and rebuilds its indexes: 67 s
-- for a million atoms of 1,536 dimensions on 2 cores without the HNSW graph,
-- whose rebuild adds about 40 s per 100,000 atoms (as 0008's did).
--
-- Without pgvector the same bits come from a SQL function (slower writes).
CREATE FUNCTION {{schema}}.sign_bits(embedding real[]) RETURNS bit varying
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT array_to_string(ARRAY(SELECT (x > 0)::int FROM unnest(embedding) AS x), '')::bit varying $$;

DO $$
DECLARE
  vector_schema text := (SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'vector');
  version text := (SELECT extversion FROM pg_extension WHERE extname = 'vector');
  bits text := '{{schema}}.sign_bits(embedding)';
BEGIN
  IF version IS NOT NULL AND string_to_array(version, '.')::int[] >= '{0,7}'::int[] THEN
    -- The extension's functions, qualified: the expression is stored resolved, whatever the search_path.
    -- pgvector's vector holds 1 to 16,000 dimensions; longer or empty embeddings get the SQL function.
    bits := format('CASE WHEN cardinality(embedding) BETWEEN 1 AND 16000 THEN %1$I.binary_quantize(embedding::%1$I.vector)::bit varying
                    ELSE {{schema}}.sign_bits(embedding) END', vector_schema);
  END IF;
  EXECUTE format('ALTER TABLE {{schema}}.knowledge_atoms ADD COLUMN embedding_bits bit varying GENERATED ALWAYS AS (%s) STORED', bits);
END
$$;
