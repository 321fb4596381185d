/**
 * The planner statistics of the embedded database. PGlite runs no background
 * processes, so nothing analyzes its tables the way autovacuum does on a
 * server: a table filled after its creation keeps no statistics at all, and
 * the planner, guessing, reads a row by its key through an index that makes it
 * walk every row of the tenant (a partial index whose predicate the query
 * repeats ties with the primary key). This does autovacuum's part here.
 */

/** Tables smaller than this many pages are left alone: any plan reads them fast. */
const MIN_PAGES = 16;
/** A table is analyzed again once it has grown by this fraction since its statistics were taken. */
const GROWTH = 0.2;

/**
 * The user tables that have grown by GROWTH since they were last analyzed, or
 * were never analyzed (relpages 0), past MIN_PAGES: their size now against
 * relpages, which ANALYZE sets.
 */
export const STALE_TABLES_SQL = `
  SELECT format('%I.%I', n.nspname, c.relname) AS name
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace,
         LATERAL (SELECT pg_relation_size(c.oid) / current_setting('block_size')::int AS pages) size
   WHERE c.relkind = 'r' AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'
     AND size.pages >= ${MIN_PAGES} AND size.pages > c.relpages * (1 + ${GROWTH})
   ORDER BY 1`;

/** How often an open embedded database looks for tables to analyze. */
export const STATISTICS_INTERVAL_MS = 30_000;
