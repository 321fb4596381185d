import { z } from 'zod';
import { hint } from '../../core/commands.js';
import { tenantBucket } from '../../core/tenant-bucket.js';
import { EmbeddingMismatchError } from '../../errors/index.js';
import type { Queryable } from '../../providers/index.js';
import type { StoreContext } from '../context.js';
import { fuseByRank } from '../search/fusion.js';
import { rowsById } from '../search/rows-by-id.js';
import {
  efSearchStatement,
  pgVector,
  readVectorCapability,
  type Statement,
  signBits,
  type VectorCapability,
} from '../search/vector-index.js';
import { cleanText, parseInput } from '../validation.js';
import { ATOM_VIEW, bucketGraph, COLUMNS, filterSchema, filterSql, pgArray, type StoredAtom, toAtom, VECTOR_INDEXES_LIKE } from './rows.js';

export type SearchMode = 'text' | 'vector' | 'hybrid';
/**
 * How the vector half was computed: the HNSW index; a scan of the candidates'
 * sign bits whose nearest few hundred are ranked exactly (`quantized`); or
 * every candidate ranked exactly, by pgvector or in plain SQL.
 */
export type VectorMethod = 'hnsw' | 'quantized' | 'exact-pgvector' | 'exact-sql';

/** How a vector statement ranks: every candidate exactly, a scan of their sign bits, or the HNSW graph. */
type Plan = 'exact' | 'scan' | 'index';

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

/**
 * A scan of sign bits ranks four times the rows asked (at least 100) again by
 * exact distance: the bits' Hamming distance follows the angle, loosely. In the
 * benchmark's corpus twice the rows asked already find every one of the exact
 * ten among 10,000 candidates (40 queries); published figures for real models'
 * embeddings quantized to bits want about four times.
 */
const RERANK_MIN = 100;
const RERANK_PER_ROW = 4;

/**
 * Up to this many candidates, a tenant's search scans their sign bits even
 * where the tenant's own graph could serve it. (Until migration 0021 these
 * were ranked exactly, the default exactThreshold; with embeddings out of line
 * the scan is cheaper: 1,015 candidates at 100k atoms, 9 ms against 19.)
 */
const GRAPH_SEEN_SCAN_MAX = 1500;

/**
 * Search over knowledge atoms: full text, vector (pgvector's HNSW or exact
 * distance, or exact cosine in SQL without pgvector) and both, fused by
 * reciprocal rank. All filters run in SQL before the LIMIT.
 *
 * A hybrid search runs its two halves at once, on two connections; the text
 * half starts before the query is embedded. Each half is one statement in one
 * round trip: it ranks narrow rows (id and score) and reads the whole atom only
 * for the rows it returns.
 */
export class AtomSearch {
  private readonly capabilities = new Map<string, VectorCapability>();
  /** Per provider, tenant and filter: how the last count chose to rank, and when. */
  private readonly decisions = new Map<string, { plan: Plan; at: number }>();

  constructor(private readonly ctx: StoreContext) {}

  async search(query: string, options: SearchOptions = {}): Promise<AtomSearchResult> {
    const { text, o, pool } = prepare(query, options);
    // A hybrid search's halves rank narrow rows (4× the rows asked, at least 40 each); only the fused
    // top rows are read whole, in one more statement. The other modes read their rows as they rank.
    const whole = o.mode !== 'hybrid';
    // The text half needs no embedding: it runs while the embedder works (a hosted model's call
    // takes longer than the text half), so a hybrid search takes the longer of the two, not both.
    const textRun: Promise<Ranked[]> = o.mode === 'vector' ? Promise.resolve([]) : this.textSearch(text, o.filter, pool, o.mode, whole);
    const vectorRun =
      o.mode === 'text'
        ? Promise.resolve(undefined)
        : this.ctx.embed([text]).then(([vector]) => this.vectorSearch(vector as number[], o.filter, pool, o.mode, whole));
    // Both settle before the search answers: no half is left running, or rejecting unobserved.
    // The embedder's (or the vector half's) error comes first, as it did when the embedding ran first.
    const [textSettled, vectorSettled] = await Promise.allSettled([textRun, vectorRun]);
    if (vectorSettled.status === 'rejected') throw vectorSettled.reason;
    if (textSettled.status === 'rejected') throw textSettled.reason;
    const textHits = textSettled.value;
    const vectorHalf = vectorSettled.value;
    const method = vectorHalf?.method ?? null;
    if (o.mode === 'text') return { mode: o.mode, vectorMethod: null, results: textHits.flatMap(asHit) };
    const vectorHits = vectorHalf?.hits ?? [];
    if (o.mode === 'vector') return { mode: o.mode, vectorMethod: method, results: vectorHits.flatMap(asHit) };
    const fused = fuseByRank(textHits, vectorHits, o.limit, (hit) => hit.atomId);
    const atoms = await this.readAtoms(fused.map((hit) => hit.id));
    return { mode: o.mode, vectorMethod: method, results: fused.flatMap((hit) => asHit({ ...hit, atom: atoms.get(hit.id) })) };
  }

  /** The atoms with these ids, whole, by id (one deleted since it was ranked is absent). */
  private readAtoms(ids: string[]): Promise<Map<string, StoredAtom>> {
    return this.ctx.read('atoms.search.hybrid', (tx) => rowsById(this.ctx, tx, 'knowledge_atoms', ATOM_VIEW, ids, toAtom), {
      single: true,
    });
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
      text: this.textStatement(text, o.filter, pool, o.mode !== 'hybrid'),
      vector: this.vectorStatement(vector as number[], o.filter, pool, capability, undefined, o.mode !== 'hybrid'),
    };
  }

  private textSearch(text: string, filter: Filter, limit: number, mode: SearchMode, whole: boolean): Promise<Ranked[]> {
    const { sql, params } = this.textStatement(text, filter, limit, whole);
    return this.ctx.read(
      `atoms.search.${mode}`,
      async (tx) => {
        const { rows } = await tx.query(sql, params);
        return rows.map((r, i) => ({ ...rankedRow(r, whole), score: Number(r.score), textRank: i + 1 }));
      },
      { single: true },
    );
  }

  private textStatement(text: string, filter: Filter, limit: number, whole = true): Statement {
    const params: unknown[] = [this.ctx.tenant];
    const where = filterSql(filter, params, this.ctx.schema);
    params.push(text, limit);
    const q = `websearch_to_tsquery('english', $${params.length - 1})`;
    const table = this.ctx.table('knowledge_atoms');
    const matches = `SELECT id, atom_id, search FROM ${table} WHERE ${where} AND search @@ ${q}`;
    // Cover density costs ~6 µs a match: past textRerank matches, only the best of them by ts_rank
    // (~1.6 µs, the same words and weights, their distances pairwise) are ranked by it. Up to
    // textRerank matches this is the exact ranking. (The tsvector rides along: no second heap visit.)
    const rerank = this.ctx.search.textRerank;
    const candidates =
      rerank > 0 ? `(${matches} ORDER BY ts_rank(search, ${q}) DESC, id LIMIT ${Math.max(rerank, limit)})` : `(${matches})`;
    const ranked = `SELECT id, atom_id, ts_rank_cd(search, ${q}) AS score FROM ${candidates} c
               ORDER BY score DESC, atom_id
               LIMIT $${params.length}`;
    if (!whole) return { sql: ranked, params };
    return {
      sql: `SELECT ${qualified('a')}, ranked.score FROM (${ranked}) ranked JOIN ${table} a ON a.tenant_id = $1 AND a.id = ranked.id
            ORDER BY ranked.score DESC, a.atom_id`,
      params,
    };
  }

  private async vectorSearch(
    vector: number[],
    filter: Filter,
    limit: number,
    mode: SearchMode,
    whole: boolean,
  ): Promise<{ hits: Ranked[]; method: VectorMethod }> {
    return this.ctx.read(`atoms.search.${mode}`, async (tx, { provider }) => {
      const capability = await this.capability(tx, provider);
      const key = `${provider}\u0000${this.ctx.tenant}\u0000${JSON.stringify(filter)}`;
      const decided = this.decisions.get(key);
      const fresh = decided && Date.now() - decided.at < DECISION_TTL_MS ? decided.plan : undefined;
      const statement = this.vectorStatement(vector, filter, limit, capability, fresh, whole);
      if (statement.settings) await tx.query(statement.settings.sql, statement.settings.params);
      const { rows } = await tx.query(statement.sql, statement.params);
      if (statement.choose && rows[0]?.candidates != null) this.decide(key, statement.choose(Number(rows[0].candidates)));
      // relaxed_order may return rows slightly out of order: sort by the exact distance.
      const hits = rows
        .map((r) => ({ ...rankedRow(r, whole), distance: Number(r.distance) }))
        .sort((a, b) => a.distance - b.distance || a.atomId.localeCompare(b.atomId))
        .map((hit, i) => ({ ...hit, score: 1 - hit.distance, vectorRank: i + 1 }));
      const plan: Plan = (rows[0]?.plan as Plan | undefined) ?? statement.plan;
      const method: VectorMethod =
        plan === 'index' ? 'hnsw' : plan === 'scan' ? 'quantized' : capability.pgvector ? 'exact-pgvector' : 'exact-sql';
      // Few rows back (or rows of another model) can mean the atoms were embedded by another model.
      if (hits.length < limit || hits.some((h) => h.embeddingModel !== this.ctx.embedder.model)) await this.checkEmbeddings(tx, filter);
      return { hits, method };
    });
  }

  /** Remember, for a while, how the count chose to rank a filter's candidates. */
  private decide(key: string, plan: Plan): void {
    this.decisions.delete(key);
    this.decisions.set(key, { plan, at: Date.now() });
    // Oldest first (insertion order): keep the map bounded.
    if (this.decisions.size > MAX_DECISIONS) this.decisions.delete(this.decisions.keys().next().value as string);
  }

  /**
   * One statement for the vector half, ranking in one of three ways:
   * - `exact`: every candidate by its exact distance (few candidates: cheaper
   *   than walking the graph past everyone else's rows, and misses nothing);
   * - `scan`: every candidate by the Hamming distance of its embedding's sign
   *   bits (192 bytes at 1,536 dimensions, kept in the row: no cast of 1,536
   *   floats and no float distance per row), the nearest few hundred then by
   *   exact distance — for filters that keep thousands of rows, which the HNSW
   *   graph, knowing nothing of the filter, serves by visiting the rows the
   *   filter drops;
   * - `index`: the HNSW graph, with pgvector's iterative scan so that rows the
   *   filters drop are replaced.
   * The filters' candidates are counted, up to the largest threshold (an index
   * scan, in the same statement), and only the branch the count chooses runs;
   * the choice is remembered for DECISION_TTL_MS (`plan`), so repeated searches
   * skip the count. Without an HNSW index there is no `index` branch.
   */
  private vectorStatement(
    vector: number[],
    filter: Filter,
    limit: number,
    capability: VectorCapability,
    plan?: Plan,
    whole = true,
  ): Statement & { settings?: Statement; plan: Plan; choose?: (candidates: number) => Plan } {
    const dim = this.ctx.embedder.dimensions;
    const table = this.ctx.table('knowledge_atoms');
    const params: unknown[] = [this.ctx.tenant];
    // The dimension is inlined (an integer we own) so the planner can match the partial HNSW index.
    const where = `${filterSql(filter, params, this.ctx.schema)} AND embedding_dim = ${dim}`;
    params.push(capability.pgvector ? pgVector(vector) : pgArray(vector), limit);
    const q = `$${params.length - 1}`;
    const n = `$${params.length}`;
    const distanceTo = (column: string) =>
      capability.pgvector
        ? `(${column}::vector(${dim})) <=> ${q}::vector(${dim})`
        : `${this.ctx.schema}.cosine_distance(${column}, ${q}::real[])`;
    const indexed = capability.pgvector && capability.indexType !== null;
    // A tenant's own graph (one per tenant bucket) already holds only its rows: a filter on
    // the tenant alone is served by the graph; any other filter the graph cannot see.
    const graphSeesFilter = capability.buckets && !Object.values(filter).some((v) => v !== undefined);
    const plans = plan ? [{ plan, upTo: Number.POSITIVE_INFINITY }] : this.plans(indexed, graphSeesFilter);
    const branches = plans.map((p) => ({ ...p, sql: '' }));
    let settings: Statement | undefined;
    for (const branch of branches) {
      if (branch.plan === 'exact') {
        // Every candidate's distance, computed once; OFFSET 0 keeps the planner from folding the
        // subquery into the ORDER BY (which would compute it twice, or walk an index).
        branch.sql = `SELECT id, atom_id, embedding_model, distance, 'exact' AS plan FROM (
            SELECT id, atom_id, embedding_model, ${distanceTo('embedding')} AS distance FROM ${table} WHERE ${where} OFFSET 0
          ) d ORDER BY distance, atom_id LIMIT ${n}`;
      } else if (branch.plan === 'scan') {
        params.push(signBits(vector));
        const bits = `$${params.length}`;
        // pgvector's <~> counts the differing bits in one pass; without it, XOR then count (a copy
        // per row). The cast to bit(dim) is safe: the WHERE keeps rows of this dimension, and the
        // table's CHECK (cardinality(embedding) = embedding_dim) makes their bits this long.
        const hamming = capability.hamming
          ? `embedding_bits::bit(${dim}) <~> ${bits}::bit(${dim})`
          : `bit_count(embedding_bits # ${bits}::bit varying)`;
        // The sort carries narrow rows (id, atom_id); the rows ranked again are joined back for their
        // embedding. Hamming distances tie often: the cut is made deterministic by id (a uuid compares
        // faster than text under a collation).
        branch.sql = `SELECT id, atom_id, embedding_model, distance, 'scan' AS plan FROM (
            SELECT c.id, c.atom_id, a.embedding_model, ${distanceTo('a.embedding')} AS distance FROM (
              SELECT id, atom_id FROM ${table} WHERE ${where}
               ORDER BY ${hamming}, id
               LIMIT ${Math.max(RERANK_MIN, RERANK_PER_ROW * limit)}
            ) c JOIN ${table} a ON a.tenant_id = $1 AND a.id = c.id OFFSET 0
          ) r ORDER BY distance, atom_id LIMIT ${n}`;
      } else {
        const type = `${capability.indexType}(${dim})`;
        const bucketNo = tenantBucket(this.ctx.tenant);
        const bucket = capability.buckets ? ` AND ${this.ctx.schema}.tenant_bucket(tenant_id) = ${bucketNo}` : '';
        const efSearch = Math.max(this.ctx.search.efSearch, limit);
        const walk = (rows: string) =>
          `SELECT id, atom_id, embedding_model, embedding FROM ${table} WHERE ${where}${bucket} ORDER BY (embedding::${type}) <=> ${q}::${type} LIMIT ${rows}`;
        // A halfvec graph ranks rounded copies (three significant digits): near neighbours swap
        // places. Twice the rows asked (up to ef_search) come from the walk and are ranked again
        // by full-precision distance, as the exact search ranks them. (Not more: under a filter
        // every extra row costs a longer walk.)
        const candidates = Math.max(limit, Math.min(efSearch, 2 * limit));
        branch.sql =
          capability.indexType === 'halfvec'
            ? `SELECT id, atom_id, embedding_model, distance, 'index' AS plan FROM (
                 SELECT id, atom_id, embedding_model, ${distanceTo('embedding')} AS distance FROM (${walk(String(candidates))}) w OFFSET 0
               ) r ORDER BY distance, atom_id LIMIT ${n}`
            : `SELECT id, atom_id, embedding_model, (embedding::${type}) <=> ${q}::${type} AS distance, 'index' AS plan FROM (${walk(n)}) w`;
        const graph = capability.buckets ? bucketGraph(bucketNo) : capability.indexName;
        settings = efSearchStatement(this.ctx.schema, graph ?? '', efSearch, capability.iterativeScan);
      }
    }
    // The atom read whole, or (a hybrid search's half) only the columns its ranking and checks need.
    const pick = (ranked: string, extra = '') =>
      whole
        ? `SELECT ${qualified('a')}, ranked.distance, ranked.plan${extra} FROM (${ranked}) ranked
             JOIN ${table} a ON a.tenant_id = $1 AND a.id = ranked.id`
        : `SELECT ranked.id, ranked.atom_id, ranked.embedding_model, ranked.distance, ranked.plan${extra} FROM (${ranked}) ranked`;
    const [only] = branches;
    if (branches.length === 1 && only) return { sql: pick(only.sql), params, plan: only.plan, ...(settings ? { settings } : {}) };
    // Each branch is gated by a one-time filter on the count: the planner runs only the chosen one.
    const counted = Math.max(...branches.filter((b) => Number.isFinite(b.upTo)).map((b) => b.upTo));
    let above = -1;
    const gated = branches.map((b) => {
      const gate = `(SELECT n FROM candidates) > ${above}${Number.isFinite(b.upTo) ? ` AND (SELECT n FROM candidates) <= ${b.upTo}` : ''}`;
      above = b.upTo;
      return `SELECT * FROM (${b.sql}) ${b.plan} WHERE ${gate}`;
    });
    const sql = `WITH candidates AS MATERIALIZED (
        SELECT count(*) AS n FROM (SELECT 1 FROM ${table} WHERE ${where} LIMIT ${counted + 1}) c
      ), ranked AS (
        ${gated.join(' UNION ALL ')}
      )
      ${pick('SELECT * FROM ranked', ', (SELECT n FROM candidates) AS candidates')}`;
    const choose = (candidates: number) => (branches.find((b) => candidates <= b.upTo) ?? (branches.at(-1) as (typeof branches)[0])).plan;
    return { sql, params, plan: choose(0), choose, ...(settings ? { settings } : {}) };
  }

  /**
   * The ways a search with no remembered choice may rank, each up to a number
   * of candidates, in increasing order (the last one unbounded).
   */
  private plans(indexed: boolean, graphSeesFilter: boolean): { plan: Plan; upTo: number }[] {
    const { exactThreshold: exact, scanThreshold: scan } = this.ctx.search;
    const all = Number.POSITIVE_INFINITY;
    // No graph: exact throughout when scans are off.
    if (!indexed && scan === 0) return [{ plan: 'exact', upTo: all }];
    const plans: { plan: Plan; upTo: number }[] = exact > 0 ? [{ plan: 'exact', upTo: exact }] : [];
    // No graph: the scan for everything above the exact threshold.
    if (!indexed) return [...plans, { plan: 'scan', upTo: all }];
    // A filter the graph sees (the tenant alone) is the graph's up from a few thousand rows; below,
    // a tenant sharing its bucket's graph with larger ones would walk mostly their rows.
    const scanUpTo = graphSeesFilter ? Math.min(scan, GRAPH_SEEN_SCAN_MAX) : scan;
    if (scanUpTo > exact) plans.push({ plan: 'scan', upTo: scanUpTo });
    plans.push({ plan: 'index', upTo: all });
    return plans;
  }

  /** What this provider can do for vector search (cached per provider). */
  private async capability(tx: Queryable, provider: string): Promise<VectorCapability> {
    const cached = this.capabilities.get(provider);
    if (cached) return cached;
    const capability = await readVectorCapability(tx, this.ctx.schema, VECTOR_INDEXES_LIKE, this.ctx.embedder.dimensions);
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
    const where = filterSql(filter, params, this.ctx.schema);
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

/**
 * A hit as a half of the search ranks it: the atom read whole, or (a hybrid
 * search's half) only what the fusion and the model check need.
 */
interface Ranked extends Omit<AtomHit, 'atom'> {
  id: string;
  atomId: string;
  embeddingModel: string | null;
  atom?: StoredAtom;
}

function rankedRow(row: Record<string, unknown>, whole: boolean): Pick<Ranked, 'id' | 'atomId' | 'embeddingModel' | 'atom'> {
  const atom = whole ? toAtom(row) : undefined;
  return { id: String(row.id), atomId: String(row.atom_id), embeddingModel: (row.embedding_model as string | null) ?? null, atom };
}

/** The hit as the search answers it (none when its atom was deleted after it was ranked). */
function asHit({ atom, score, textRank, vectorRank, distance }: Ranked): AtomHit[] {
  if (!atom) return [];
  return [
    {
      atom,
      score,
      ...(textRank !== undefined && { textRank }),
      ...(distance !== undefined && { distance }),
      ...(vectorRank !== undefined && { vectorRank }),
    },
  ];
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

export type { Statement } from '../search/vector-index.js';
