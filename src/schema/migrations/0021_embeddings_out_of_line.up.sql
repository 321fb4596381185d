-- Knowledge atoms keep their embedding out of line again (STORAGE EXTERNAL, the
-- default toast target), undoing 0012 (issue 16).
--
-- 0012 moved an embedding of up to ~1,900 dimensions into its row because exact
-- ranking read every candidate's floats, and a TOAST lookup for each cost
-- three times as much. Since 0019 a filter of more than a few hundred rows is
-- ranked by the sign bits kept in the row, and only the nearest few hundred are
-- ranked by their floats; the HNSW graph holds its own copies. What the rows
-- cost now is their width: at 1,536 dimensions a row filled a page, so a
-- million atoms were an 8 GB heap whose pages came from the OS cache, not
-- shared buffers. Out of line, the same heap is 2 GB. Measured at a million
-- atoms, the same rows in both layouts in one sitting: the 1% metadata filter's
-- text half p50 38 → 19 ms, its vector half 48 → 42 ms.
--
-- Only rows written from now on are stored this way (no rewrite here: at a
-- million atoms it takes minutes and rebuilds every index). `VACUUM FULL` of
-- the table moves the embeddings of older rows out of line.
ALTER TABLE {{schema}}.knowledge_atoms ALTER COLUMN embedding SET STORAGE EXTERNAL;
ALTER TABLE {{schema}}.knowledge_atoms RESET (toast_tuple_target);
