import { z } from 'zod';
import { hint } from '../core/commands.js';
import { tenantBucket } from '../core/tenant-bucket.js';
import { EmbeddingMismatchError } from '../errors/index.js';
import { type Queryable, settingsStatement } from '../providers/index.js';
import { COLUMNS, filterSchema, filterSql, pgArray, type StoredAtom, toAtom, VECTOR_INDEXES_LIKE } from './atom-rows.js';
import type { StoreContext } from './context.js';
import { cleanText, parseInput } from './validation.js';

export type SearchMode = 'text' | 'vector' | 'hybrid';
/** How the vector half was computed: the HNSW index, pgvector exactly (few candidates, or no index for the dimension), or plain SQL. */
export type VectorMethod = 'hnsw' | 'exact-pgvector' | 'exact-sql';

export interface AtomHit {
  atom: StoredAtom;
  score: number;
  textRank?: number;
  vectorRank?: number;
  distance?: number;
}

export interface AtomSearchResult {
  mode: SearchMode;
  vectorMethod: VectorMethod | null;
  results: AtomHit[];
}

export const searchSchema = z
  .object({
    mode: z.enum(['text', 'vector', 'hybrid']).default('hybrid'),
    limit: z.number().int().min(1).max(1000).default(10),
    filter: filterSchema.default({}),
  })
  .strict();
export type SearchOptions = z.input<typeof searchSchema>;
type Filter = z.output<typeof filterSchema>;

/** How long a filter's exact-or-index choice is reused before it is counted again. */
const DECISION_TTL_MS = 30_000;
const MAX_DECISIONS = 1000;

/** Reciprocal rank fusion constant (the usual 60). */
const RRF_K = 60;

const pgVector = (values: number[]) => `[${values.join(',')}]`;

/** What a provider offers for vector search: pgvector or not, and the type its HNSW index is built over. */
interface VectorCapability {
  pgvector: boolean;
  /** The index's cast of the stored real[] (halfvec: half the size, the same ranking), or null without an index. */
  indexType: 'halfvec' | 'vector' | null;
  /** One graph per tenant bucket (migration 0008): the search names its bucket. */
  buckets: boolean;
  iterativeScan: boolean;
}

/**
 * Search over knowledge atoms: full text, vector (pgvector's HNSW or exact
 * distance, or exact cosine in SQL without pgvector) and both, fused by
 * reciprocal rank. All filters run in SQL before the LIMIT.
 *
 * A hybrid search runs its two halves at once, on two connections. Each half
 * is one statement in one round trip: it ranks narrow rows (id and score) and
 * reads the whole atom only for the rows it returns.
 */
export class AtomSearch {
  private readonly capabilities = new Map<string, VectorCapability>();
  /** Per provider, tenant and filter: whether the last count chose exact ranking, and when. */
  private readonly decisions = new Map<string, { exact: boolean; at: number }>();

  constructor(private readonly ctx: StoreContext) {}

  async search(query: string, options: SearchOptions = {}): Promise<AtomSearchResult> {
    const { text, o, pool } = prepare(query, options);
    const vector = o.mode === 'text' ? undefined : (await this.ctx.embed([text]))[0];
    const [textHits, vectorHalf] = await Promise.all([
      o.mode === 'vector' ? [] : this.textSearch(text, o.filter, pool, o.mode),
      vector ? this.vectorSearch(vector, o.filter, pool, o.mode) : undefined,
    ]);
    const method = vectorHalf?.method ?? null;
    if (o.mode === 'text') return { mode: o.mode, vectorMethod: null, results: textHits };
    const vectorHits = vectorHalf?.hits ?? [];
    if (o.mode === 'vector') return { mode: o.mode, vectorMethod: method, results: vectorHits };
    return { mode: o.mode, vectorMethod: method, results: fuse(textHits, vectorHits, o.limit) };
  }

  /**
   * The statements each half of a search sends, as they would run now (the
   * vector half with its settings): for EXPLAIN, in the benchmarks and when
   * looking into a slow search.
   */
  async statements(query: string, options: SearchOptions = {}): Promise<{ text: Statement; vector: Statement & { settings?: Statement } }> {
    const { text, o, pool } = prepare(query, options);
    const [vector] = await this.ctx.embed([text]);
    const capability = await this.ctx.read('atoms.search.capability', (tx, { provider }) => this.capability(tx, provider));
    return {
      text: this.textStatement(text, o.filter, pool),
      vector: this.vectorStatement(vector as number[], o.filter, pool, capability),
    };
  }

  private textSearch(text: string, filter: Filter, limit: number, mode: SearchMode): Promise<AtomHit[]> {
    const { sql, params } = this.textStatement(text, filter, limit);
    return this.ctx.read(
      `atoms.search.${mode}`,
      async (tx) => {
        const { rows } = await tx.query(sql, params);
        return rows.map((r, i) => ({ atom: toAtom(r), score: Number(r.score), textRank: i + 1 }));
      },
      { single: true },
    );
  }

  private textStatement(text: string, filter: Filter, limit: number): Statement {
    const params: unknown[] = [this.ctx.tenant];
    const where = filterSql(filter, params);
    params.push(text, limit);
    const q = `websearch_to_tsquery('english', $${params.length - 1})`;
    const table = this.ctx.table('knowledge_atoms');
    return {
      sql: `SELECT ${qualified('a')}, ranked.score FROM (
              SELECT id, ts_rank_cd(search, ${q}) AS score FROM ${table}
               WHERE ${where} AND search @@ ${q}
               ORDER BY score DESC, atom_id
               LIMIT $${params.length}
            ) ranked JOIN ${table} a ON a.tenant_id = $1 AND a.id = ranked.id
            ORDER BY ranked.score DESC, a.atom_id`,
      params,
    };
  }

  private async vectorSearch(
    vector: number[],
    filter: Filter,
    limit: number,
    mode: SearchMode,
  ): Promise<{ hits: AtomHit[]; method: VectorMethod }> {
    return this.ctx.read(`atoms.search.${mode}`, async (tx, { provider }) => {
      const capability = await this.capability(tx, provider);
      const key = `${provider}\u0000${this.ctx.tenant}\u0000${JSON.stringify(filter)}`;
      const decided = this.decisions.get(key);
      const fresh = decided && Date.now() - decided.at < DECISION_TTL_MS ? decided.exact : undefined;
      const statement = this.vectorStatement(vector, filter, limit, capability, fresh);
      if (statement.settings) await tx.query(statement.settings.sql, statement.settings.params);
      const { rows } = await tx.query(statement.sql, statement.params);
      if (fresh === undefined && rows[0]?.candidates != null)
        this.decide(key, Number(rows[0].candidates) <= this.ctx.search.exactThreshold);
      // relaxed_order may return rows slightly out of order: sort by the exact distance.
      const hits = rows
        .map((r) => ({ atom: toAtom(r), distance: Number(r.distance) }))
        .sort((a, b) => a.distance - b.distance || a.atom.atomId.localeCompare(b.atom.atomId))
        .map((hit, i) => ({ atom: hit.atom, distance: hit.distance, score: 1 - hit.distance, vectorRank: i + 1 }));
      const exact = rows.length === 0 || rows[0]?.exact === true;
      const method: VectorMethod = !capability.pgvector ? 'exact-sql' : exact ? 'exact-pgvector' : 'hnsw';
      // Few rows back (or rows of another model) can mean the atoms were embedded by another model.
      if (hits.length < limit || hits.some((h) => h.atom.embeddingModel !== this.ctx.embedder.model))
        await this.checkEmbeddings(tx, filter);
      return { hits, method };
    });
  }

  /** Remember, for a while, whether a filter leaves few enough candidates to rank exactly. */
  private decide(key: string, exact: boolean): void {
    this.decisions.delete(key);
    this.decisions.set(key, { exact, at: Date.now() });
    // Oldest first (insertion order): keep the map bounded.
    if (this.decisions.size > MAX_DECISIONS) this.decisions.delete(this.decisions.keys().next().value as string);
  }

  /**
   * One statement for the vector half. With an HNSW index, the filters'
   * candidates are counted up to search.exactThreshold (an index scan, in the
   * same statement): few candidates are ranked exactly, which costs less than
   * walking the graph past everyone else's rows and misses nothing; otherwise
   * the index answers, with pgvector's iterative scan so that rows the filters
   * drop are replaced. Only the branch the count chooses runs, and the choice
   * is remembered for DECISION_TTL_MS (`exact`), so repeated searches skip the count.
   */
  private vectorStatement(
    vector: number[],
    filter: Filter,
    limit: number,
    capability: VectorCapability,
    exact?: boolean,
  ): Statement & { settings?: Statement } {
    const dim = this.ctx.embedder.dimensions;
    const table = this.ctx.table('knowledge_atoms');
    const params: unknown[] = [this.ctx.tenant];
    // The dimension is inlined (an integer we own) so the planner can match the partial HNSW index.
    const where = `${filterSql(filter, params)} AND embedding_dim = ${dim}`;
    // Every candidate's distance, computed once; OFFSET 0 keeps the planner from folding the
    // subquery into the ORDER BY (which would compute it twice, or walk an index).
    const exactly = (distance: string, n: string) =>
      `SELECT id, distance, true AS exact FROM (SELECT id, atom_id, ${distance} AS distance FROM ${table} WHERE ${where} OFFSET 0) d
        ORDER BY distance, atom_id LIMIT ${n}`;
    const pick = (ranked: string, extra = '') =>
      `SELECT ${qualified('a')}, ranked.distance, ranked.exact${extra} FROM (${ranked}) ranked
         JOIN ${table} a ON a.tenant_id = $1 AND a.id = ranked.id`;
    if (!capability.pgvector) {
      params.push(pgArray(vector), limit);
      return {
        sql: pick(exactly(`${this.ctx.schema}.cosine_distance(embedding, $${params.length - 1}::real[])`, `$${params.length}`)),
        params,
      };
    }
    params.push(pgVector(vector), limit);
    const q = `$${params.length - 1}`;
    const n = `$${params.length}`;
    // Exact: over vector (full precision).
    const exactSql = exactly(`(embedding::vector(${dim})) <=> ${q}::vector(${dim})`, n);
    if (!capability.indexType || exact === true) return { sql: pick(exactSql), params };
    const type = `${capability.indexType}(${dim})`;
    const bucket = capability.buckets ? ` AND ${this.ctx.schema}.tenant_bucket(tenant_id) = ${tenantBucket(this.ctx.tenant)}` : '';
    const efSearch = Math.max(this.ctx.search.efSearch, limit);
    const walk = (n: string) =>
      `SELECT id, atom_id, embedding FROM ${table} WHERE ${where}${bucket} ORDER BY (embedding::${type}) <=> ${q}::${type} LIMIT ${n}`;
    // A halfvec graph ranks rounded copies (three significant digits): near neighbours swap
    // places. Twice the rows asked (up to ef_search) come from the walk and are ranked again
    // by full-precision distance, as the exact search ranks them. (Not more: under a filter
    // every extra row costs a longer walk.)
    const candidates = Math.max(limit, Math.min(efSearch, 2 * limit));
    const indexed =
      capability.indexType === 'halfvec'
        ? `SELECT id, distance, false AS exact FROM (
             SELECT id, atom_id, (embedding::vector(${dim})) <=> ${q}::vector(${dim}) AS distance FROM (${walk(String(candidates))}) w OFFSET 0
           ) r ORDER BY distance, atom_id LIMIT ${n}`
        : `SELECT id, (embedding::${type}) <=> ${q}::${type} AS distance, false AS exact FROM (${walk(n)}) w`;
    const settings: Record<string, string> = { 'hnsw.ef_search': String(efSearch) };
    // Keep scanning the index until enough rows pass the filters, so a filtered query still returns k rows.
    if (capability.iterativeScan) settings['hnsw.iterative_scan'] = 'relaxed_order';
    const settingsSql = settingsStatement(settings);
    const threshold = this.ctx.search.exactThreshold;
    if (threshold === 0 || exact === false) return { sql: pick(indexed), params, settings: settingsSql };
    // Each branch is gated by a one-time filter on the count: the planner runs only the chosen one.
    const sql = `WITH candidates AS MATERIALIZED (
        SELECT count(*) AS n FROM (SELECT 1 FROM ${table} WHERE ${where} LIMIT ${threshold + 1}) c
      ), ranked AS (
        SELECT * FROM (${exactSql}) e WHERE (SELECT n FROM candidates) <= ${threshold}
        UNION ALL
        SELECT * FROM (${indexed}) i WHERE (SELECT n FROM candidates) > ${threshold}
      )
      ${pick('SELECT * FROM ranked', ', (SELECT n FROM candidates) AS candidates')}`;
    return { sql, params, settings: settingsSql };
  }

  /** What this provider can do for vector search (cached per provider). */
  private async capability(tx: Queryable, provider: string): Promise<VectorCapability> {
    const cached = this.capabilities.get(provider);
    if (cached) return cached;
    const { rows } = await tx.query<{ version: string | null; indexdef: string | null }>(
      `SELECT (SELECT extversion FROM pg_extension WHERE extname = 'vector') AS version,
              (SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND indexname LIKE '${VECTOR_INDEXES_LIKE}'
                ORDER BY indexname LIMIT 1) AS indexdef`,
      [this.ctx.schema],
    );
    const version = rows[0]?.version ?? null;
    const indexdef = rows[0]?.indexdef ?? '';
    const dim = this.ctx.embedder.dimensions;
    const [major = 0, minor = 0] = (version ?? '0.0').split('.').map(Number);
    const capability: VectorCapability = {
      pgvector: version !== null,
      indexType: indexdef.includes(`halfvec(${dim})`) ? 'halfvec' : indexdef.includes(`vector(${dim})`) ? 'vector' : null,
      buckets: indexdef.includes('tenant_bucket('),
      iterativeScan: major > 0 || minor >= 8,
    };
    this.capabilities.set(provider, capability);
    return capability;
  }

  /** After a re-embed or a schema change: look at the provider again. */
  forgetEmbeddingChecks(): void {
    this.capabilities.clear();
    this.decisions.clear();
  }

  /** Refuse to compare vectors from different models: the distances would be meaningless. */
  private async checkEmbeddings(tx: Queryable, filter: Filter): Promise<void> {
    // Among the atoms this search could have found: bounded by its filters, as the search was.
    const params: unknown[] = [this.ctx.tenant];
    const where = filterSql(filter, params);
    params.push(this.ctx.embedder.model, this.ctx.embedder.dimensions);
    const { rows } = await tx.query<{ embedding_model: string; embedding_dim: number }>(
      `SELECT embedding_model, embedding_dim FROM ${this.ctx.table('knowledge_atoms')}
        WHERE ${where} AND embedding IS NOT NULL
          AND (embedding_model IS DISTINCT FROM $${params.length - 1} OR embedding_dim IS DISTINCT FROM $${params.length})
        LIMIT 1`,
      params,
    );
    const other = rows[0];
    if (other) {
      throw new EmbeddingMismatchError(
        `knowledge atoms were embedded with ${other.embedding_model} (${other.embedding_dim} dimensions) but the configured embedder is ` +
          `${this.ctx.embedder.model} (${this.ctx.embedder.dimensions}); run ${hint('atomsReembed')} or configure the same embedder`,
        { stored: other.embedding_model, storedDim: Number(other.embedding_dim), configured: this.ctx.embedder.model },
      );
    }
  }
}

export interface Statement {
  sql: string;
  params: unknown[];
}

/** A search's validated query and options, and how many rows each half ranks (more than asked when two lists are fused). */
function prepare(query: string, options: SearchOptions) {
  const text = parseInput(cleanText(2000).min(1, 'must not be empty'), query, 'search query');
  const o = parseInput(searchSchema, options, 'search options');
  const pool = o.mode === 'hybrid' ? Math.max(o.limit * 4, 40) : o.limit;
  return { text, o, pool };
}

/** The atom's columns, qualified by a table alias. */
const qualified = (alias: string) =>
  COLUMNS.split(',')
    .map((c) => `${alias}.${c.trim()}`)
    .join(', ');

function fuse(textHits: AtomHit[], vectorHits: AtomHit[], limit: number): AtomHit[] {
  const merged = new Map<string, AtomHit>();
  for (const hit of [...textHits, ...vectorHits]) {
    const current = merged.get(hit.atom.atomId);
    merged.set(hit.atom.atomId, { ...current, ...hit, atom: hit.atom, score: 0 });
  }
  for (const hit of merged.values()) {
    hit.score = (hit.textRank ? 1 / (RRF_K + hit.textRank) : 0) + (hit.vectorRank ? 1 / (RRF_K + hit.vectorRank) : 0);
  }
  return [...merged.values()].sort((a, b) => b.score - a.score || a.atom.atomId.localeCompare(b.atom.atomId)).slice(0, limit);
}
