/**
 * The vector half's building blocks, shared by every search over embeddings:
 * what a provider's pgvector offers, the HNSW walk's settings, and vectors as
 * pgvector and the sign-bit column take them.
 */
import type { Queryable } from '../../providers/index.js';

/** One statement and its parameters, as a search sends it (and as `statements()` shows it for EXPLAIN). */
export interface Statement {
  sql: string;
  params: unknown[];
}

/**
 * HNSW's recall at a given ef_search falls as its graph grows: a few queries'
 * walks end among the wrong rows altogether (0 of the 10 nearest), and only a
 * longer candidate list gets them out. `search.efSearch` is the candidate list
 * for a graph of up to EF_BASE_ROWS rows, and a larger graph gets it times how
 * many times larger it is (a million rows: ×10), up to EF_MAX. Measured on one
 * build of the benchmark's million-atom graph (100 queries against exact
 * search): ef_search 127 (the square root's rule before) left 3 queries at 0 of
 * 10 and recall 0.965; 253 0.976; 380 0.986; 506 0.987; 791 and 1000 0.997 —
 * for ~4 ms more per search at 400 (6.8 → 10.4 ms p50). The graph's size is
 * the index's own row count in the catalog (pg_class.reltuples, kept by CREATE
 * INDEX, VACUUM and ANALYZE), read in the statement that sets ef_search: no
 * extra round trip, never stale by more than autovacuum's lag.
 */
export const EF_BASE_ROWS = 100_000;
export const EF_MAX = 1000;

/** The ef_search a graph of `graphRows` gets from the configured `efSearch` (the same rule the settings statement computes in SQL). */
export function efSearchFor(efSearch: number, graphRows: number): number {
  return Math.min(EF_MAX, Math.max(efSearch, Math.ceil((efSearch * Math.max(graphRows, 0)) / EF_BASE_ROWS)));
}

/**
 * ef_search for a graph, in SQL (efSearchFor's rule): `efSearch` grown with
 * the index's catalog row count, read as the statement runs. Each argument is
 * SQL: the schema's and the index's names as text, the configured ef_search.
 */
export function efSearchSql(schema: string, index: string, efSearch: string): string {
  const rows = `(SELECT greatest(c.reltuples, 0) FROM pg_class c WHERE c.oid = to_regclass(format('%I.%I', ${schema}::text, ${index}::text)))`;
  return `least(${EF_MAX}, greatest(${efSearch}::int, ceil(${efSearch}::int * coalesce(${rows}, 0)::float8 / ${EF_BASE_ROWS})::int))`;
}

/**
 * The walk's settings: ef_search from the graph's size (efSearchSql), and
 * pgvector's iterative scan, which keeps walking until enough rows pass the
 * filters, so a filtered query still returns k rows.
 */
export function efSearchStatement(schema: string, index: string, efSearch: number, iterativeScan: boolean): Statement {
  const ef = `${efSearchSql('$1', '$2', '$3')}::text`;
  return {
    sql: `SELECT set_config('hnsw.ef_search', ${ef}, true)${iterativeScan ? ", set_config('hnsw.iterative_scan', 'relaxed_order', true)" : ''}`,
    params: [schema, index, efSearch],
  };
}

export const pgVector = (values: number[]) => `[${values.join(',')}]`;
/** A vector's signs as a bit string, as the embedding_bits column holds them (1 above zero: pgvector's binary_quantize). */
export const signBits = (values: number[]) => values.map((x) => (x > 0 ? '1' : '0')).join('');

/** What a provider offers for vector search: pgvector or not, and the type its HNSW index is built over. */
export interface VectorCapability {
  pgvector: boolean;
  /** The index's cast of the stored real[] (halfvec: half the size, the same ranking), or null without an index. */
  indexType: 'halfvec' | 'vector' | null;
  /** One graph per tenant bucket (migration 0008): the search names its bucket. */
  buckets: boolean;
  iterativeScan: boolean;
  /** pgvector's Hamming distance of two bit strings (`<~>`, from 0.7): one pass, no XOR'd copy per row. */
  hamming: boolean;
  /** The HNSW index's name (without buckets; with them, each bucket's graph is named by its number). */
  indexName: string | null;
}

/** What a provider offers for vector search: pgvector's version and the first HNSW index whose name is like `indexesLike`. */
export async function readVectorCapability(tx: Queryable, schema: string, indexesLike: string, dim: number): Promise<VectorCapability> {
  const { rows } = await tx.query<{ version: string | null; indexname: string | null; indexdef: string | null }>(
    `SELECT (SELECT extversion FROM pg_extension WHERE extname = 'vector') AS version, i.indexname, i.indexdef
       FROM (SELECT 1) one LEFT JOIN LATERAL (
         SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1 AND indexname LIKE $2
          ORDER BY indexname LIMIT 1) i ON true`,
    [schema, indexesLike],
  );
  const version = rows[0]?.version ?? null;
  const indexdef = rows[0]?.indexdef ?? '';
  const [major = 0, minor = 0] = (version ?? '0.0').split('.').map(Number);
  return {
    pgvector: version !== null,
    indexType: indexdef.includes(`halfvec(${dim})`) ? 'halfvec' : indexdef.includes(`vector(${dim})`) ? 'vector' : null,
    buckets: indexdef.includes('tenant_bucket('),
    iterativeScan: major > 0 || minor >= 8,
    hamming: major > 0 || minor >= 7,
    indexName: rows[0]?.indexname ?? null,
  };
}

/**
 * What each provider offers for memories' embeddings, read once per provider:
 * with pgvector a search ranks with its `<=>` (C, one pass), without it with
 * the SQL cosine function (unnest per row, many times slower); with the
 * memories' HNSW graph and the function that walks it (migration 0031, on
 * pgvector 0.8), a user with many rows is searched by walking the graph.
 */
export class PgvectorByProvider {
  private readonly byProvider = new Map<string, { pgvector: boolean; graph: 'halfvec' | 'vector' | null }>();

  constructor(
    private readonly schema: string,
    private readonly dimensions: number,
  ) {}

  /** Whether the provider has pgvector, if it has been read. */
  known(provider: string): boolean | undefined {
    return this.byProvider.get(provider)?.pgvector;
  }

  /** The type the provider's memories graph is walked over (user_graph_nearest's query), when it has one. */
  graph(provider: string): 'halfvec' | 'vector' | null {
    return this.byProvider.get(provider)?.graph ?? null;
  }

  async has(tx: Queryable, provider: string): Promise<boolean> {
    let known = this.byProvider.get(provider);
    if (known === undefined) {
      const capability = await readVectorCapability(tx, this.schema, 'memories\\_embedding\\_hnsw%', this.dimensions);
      const { rows } = await tx.query<{ walk: boolean }>('SELECT to_regproc($1) IS NOT NULL AS walk', [
        `${this.schema}.user_graph_nearest`,
      ]);
      known = { pgvector: capability.pgvector, graph: rows[0]?.walk && capability.indexName ? capability.indexType : null };
      this.byProvider.set(provider, known);
    }
    return known.pgvector;
  }
}
