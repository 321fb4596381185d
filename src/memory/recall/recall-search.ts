/**
 * Recall by meaning over memories and messages (rows of `memories`): a text
 * leg (rows sharing any of the query's words, ranked by cover density) and a vector leg (cosine distance
 * to the query's embedding, among vectors of the configured model), fused by
 * reciprocal rank for `hybrid`. Every filter — tenant, scope, type, time,
 * current facts only — is applied in SQL before the LIMIT of each leg. When
 * the embedder fails at query time, the answer comes from the text leg and
 * says so (`degraded: 'embedder'`) instead of failing.
 */
import { MEMORY_TYPES, MESSAGE_TYPES, type MemoryType } from '../../core/enums.js';
import { logger } from '../../observability/logger.js';
import type { Queryable } from '../../providers/index.js';
import type { StoreContext } from '../context.js';
import { fuseByRank } from '../search/fusion.js';
import { PgvectorByProvider } from '../search/vector-index.js';
import { checkEmbeddingModel } from './embedding-model.js';
import type { Scope } from './recall-input.js';

export type RecallMode = 'text' | 'vector' | 'hybrid';

/** Why a hit matched: its rank in each leg that found it (1 is best), and the score it is ordered by. */
export interface RecallMatch {
  score: number;
  textRank?: number;
  vectorRank?: number;
  /** Cosine similarity to the query, when the vector leg found it. */
  similarity?: number;
}

export interface RecallRequest {
  text: string;
  mode: RecallMode;
  k: number;
  scope: Scope;
  types: readonly MemoryType[];
  /** Facts current at this time; without it, current now (unless includeSuperseded). */
  asOf?: Date | undefined;
  includeSuperseded: boolean;
  minScore?: number | undefined;
}

export interface RecallOutcome<H> {
  mode: RecallMode;
  hits: H[];
  /** Set when a leg could not run: `embedder` — the query could not be embedded, so the text leg answered alone. */
  degraded?: 'embedder';
}

/** The memory types that are not messages (nor a scope's working memory, which is read whole): what a memory search covers by default. */
export const NON_MESSAGE_TYPES = MEMORY_TYPES.filter((t) => !(MESSAGE_TYPES as readonly string[]).includes(t) && t !== 'working_memory');

type Ranked = RecallMatch & { id: string };

export class RecallSearch {
  private readonly pgvector: PgvectorByProvider;

  constructor(private readonly ctx: StoreContext) {
    this.pgvector = new PgvectorByProvider(ctx.schema, ctx.embedder.dimensions);
  }

  /**
   * The best `k` rows for the request, with why each matched; then `load`
   * reads them, in that order. The ranking is one statement (both legs), and
   * the rows another (one more when `load` sends more than one): each goes
   * alone on a connection that keeps the store's settings, with no BEGIN and
   * COMMIT around them. A row gone between the two is left out.
   */
  async search<H>(
    operation: string,
    request: RecallRequest,
    load: (tx: Queryable, ids: string[]) => Promise<Map<string, H>>,
    options: { loadSends: 'one statement' | 'several' } = { loadSends: 'one statement' },
  ): Promise<RecallOutcome<H & RecallMatch>> {
    let vector: number[] | undefined;
    let degraded: 'embedder' | undefined;
    if (request.mode !== 'text') {
      try {
        vector = (await this.ctx.embed([request.text]))[0];
      } catch (error) {
        degraded = 'embedder';
        logger().warn({ operation, err: (error as Error).message }, 'the query could not be embedded; answering from full text');
      }
    }
    const pool = request.mode === 'hybrid' ? Math.max(request.k * 4, 40) : request.k;
    if (vector) await this.vectorFacts(operation);
    const { textHits, vectorHits } = await this.ctx.read(
      operation,
      (tx, { provider }) => this.rank(tx, provider, request, degraded ? undefined : vector, pool),
      { single: true },
    );
    // Hybrid fuses whatever each leg found; a single leg (or a degraded hybrid) is ordered by its own score.
    let matches: Ranked[] =
      request.mode === 'hybrid' && !degraded
        ? fuseByRank(textHits, vectorHits, request.k, (hit) => hit.id)
        : [...(vectorHits.length ? vectorHits : textHits)].slice(0, request.k);
    if (request.minScore !== undefined) matches = matches.filter((m) => m.score >= (request.minScore as number));
    const ids = matches.map((m) => m.id);
    const rows = ids.length
      ? await this.ctx.read(operation, (tx) => load(tx, ids), { single: options.loadSends === 'one statement' })
      : new Map<string, H>();
    const hits = matches.flatMap(({ id, ...why }) => {
      const row = rows.get(id);
      return row ? [{ ...row, ...why }] : [];
    });
    return { mode: request.mode, hits, ...(degraded ? { degraded } : {}) };
  }

  /** When each provider's stored vectors were last found to be of the configured model: checked again after a minute. */
  private readonly modelChecked = new Map<string, number>();
  /** The provider the last ranking ran on: the one whose facts the next is likely to need. */
  private lastProvider: string | undefined;

  /**
   * What the vector leg needs to know of a provider — whether it has
   * pgvector, and that its stored vectors are of the configured model (an
   * EmbeddingMismatchError when not; checked again after a minute) — read in
   * a read of its own when the last provider's are not at hand.
   */
  private async vectorFacts(operation: string): Promise<void> {
    const last = this.lastProvider;
    const checked = last === undefined ? undefined : this.modelChecked.get(last);
    if (last !== undefined && checked !== undefined && Date.now() - checked <= 60_000 && this.pgvector.known(last) !== undefined) return;
    await this.ctx.read(operation, async (tx, { provider }) => {
      await checkEmbeddingModel(tx, this.ctx.schema, this.ctx.embedder);
      this.modelChecked.set(provider, Date.now());
      await this.pgvector.has(tx, provider);
      this.lastProvider = provider;
    });
  }

  /**
   * Both legs in one statement: each leg's rows with their rank in it (1 is
   * best), the text leg's when it runs (not in `vector` mode, unless the
   * query could not be embedded), the vector leg's when there is a vector.
   */
  private async rank(
    tx: Queryable,
    provider: string,
    request: RecallRequest,
    vector: number[] | undefined,
    pool: number,
  ): Promise<{ textHits: Ranked[]; vectorHits: Ranked[] }> {
    this.lastProvider = provider;
    const params: unknown[] = [this.ctx.tenant];
    const legs: string[] = [];
    if (request.mode !== 'vector' || !vector) legs.push(`SELECT 't' AS leg, * FROM (${this.textLeg(request, params, pool)}) t`);
    if (vector) legs.push(`SELECT 'v' AS leg, * FROM (${this.vectorLeg(provider, request, vector, params, pool)}) v`);
    const { rows } = await tx.query<{ leg: 't' | 'v'; id: string; score: number; rank: string }>(legs.join(' UNION ALL '), params, {
      prepare: true,
    });
    const textHits: Ranked[] = [];
    const vectorHits: Ranked[] = [];
    for (const row of rows.sort((a, b) => Number(a.rank) - Number(b.rank))) {
      const rank = Number(row.rank);
      const score = Number(row.score);
      if (row.leg === 't') textHits.push({ id: row.id, score, textRank: rank });
      else vectorHits.push({ id: row.id, score, similarity: score, vectorRank: rank });
    }
    return { textHits, vectorHits };
  }

  /**
   * The rows both legs read (`from`, aliased `m`) and the filters they share
   * (`where`); their values are appended to params ($1 is the tenant).
   */
  private filters(request: RecallRequest, params: unknown[]): { from: string; where: string } {
    const s = this.ctx.schema;
    const add = (value: unknown) => {
      params.push(value);
      return `$${params.length}`;
    };
    const where = [
      'm.tenant_id = $1',
      'm.deleted_at IS NULL',
      'm.namespace IS NULL',
      `m.memory_type = ANY(${add(request.types)}::text[])`,
      '(m.expires_at IS NULL OR m.expires_at > now())',
    ];
    // A user's rows (their own, and those in their sessions) or an agent's (in its sessions), as tuple ids
    // read from the user's and the sessions' index entries once (an init plan), in a fenced subquery that
    // has nothing but them to go by: the planner is left a TID scan of those rows, never a scan of the
    // tenant, whatever its estimates say (of an array it cannot see into, of a table not yet analyzed).
    const inSessionsOf = (column: string, value: string) =>
      `SELECT x.ctid FROM ${s}.sessions ss JOIN ${s}.memories x ON x.tenant_id = ss.tenant_id AND x.session_id = ss.id
        WHERE ss.tenant_id = $1 AND ss.${column} = ${value}`;
    const scoped: string[] = [];
    const { userId, agentId, sessionId } = request.scope;
    if (userId !== undefined) {
      const u = add(userId);
      scoped.push(`SELECT x.ctid FROM ${s}.memories x WHERE x.tenant_id = $1 AND x.user_id = ${u} UNION ALL ${inSessionsOf('user_id', u)}`);
    }
    if (agentId !== undefined) scoped.push(inSessionsOf('agent_id', add(agentId)));
    if (sessionId !== undefined) where.push(`m.session_id = ${add(sessionId)}::uuid`);
    if (request.asOf) {
      const at = add(request.asOf);
      where.push(`m.created_at <= ${at}`);
      if (!request.includeSuperseded) where.push(`(m.valid_to IS NULL OR m.valid_to > ${at})`);
    } else if (!request.includeSuperseded) where.push('m.valid_to IS NULL');
    const table = this.ctx.table('memories');
    // A user and an agent together: the rows of both (each an array of tuple ids).
    const from = scoped.length
      ? `(SELECT * FROM ${table} m0 WHERE ${scoped.map((q) => `m0.ctid = ANY(ARRAY(${q}))`).join(' AND ')} OFFSET 0) m`
      : `${table} m`;
    return { from, where: where.join(' AND ') };
  }

  /**
   * Rows sharing any word of the query (its stems, stop words left out), best
   * cover first: a query is a question in words, not a list every hit must
   * hold all of; the rank puts rows with more and closer words first.
   */
  private textLeg(request: RecallRequest, params: unknown[], pool: number): string {
    const { from, where } = this.filters(request, params);
    params.push(request.text, pool);
    // The query's tsquery made once (OFFSET 0 keeps the planner from folding it into every use, which a
    // prepared statement's generic plan would then compute again for each row it tests and sorts).
    const q = `(SELECT replace(plainto_tsquery('english', $${params.length - 1})::text, ' & ', ' | ')::tsquery AS q OFFSET 0) AS q`;
    const matches = `SELECT m.id, m.search, q.q FROM ${from}, ${q} WHERE ${where} AND m.search @@ q.q`;
    // Cover density costs ~6 µs a match: past search.textRerank matches, only the best of them by ts_rank
    // (~1.6 µs, the same words and weights) are ranked by it — as the atoms' text search does.
    const rerank = this.ctx.search.textRerank;
    const candidates =
      rerank > 0 ? `(${matches} ORDER BY ts_rank(m.search, q.q) DESC, m.id LIMIT ${Math.max(rerank, pool)})` : `(${matches})`;
    return `SELECT r.id::text AS id, r.score, row_number() OVER (ORDER BY r.score DESC, r.id) AS rank
      FROM (SELECT c.id, ts_rank_cd(c.search, c.q)::float8 AS score FROM ${candidates} c
             ORDER BY score DESC, c.id LIMIT $${params.length}) r`;
  }

  /**
   * Cosine similarity to the query among vectors of the configured model:
   * with pgvector's `<=>` where the provider has it, else the SQL function (a
   * provider whose pgvector is not known yet gets the function, which ranks the same).
   */
  private vectorLeg(provider: string, request: RecallRequest, vector: number[], params: unknown[], pool: number): string {
    const { from, where } = this.filters(request, params);
    const { model, dimensions } = this.ctx.embedder;
    // The dimension is inlined (an integer we own), so a prepared statement's generic plan can still
    // match the partial HNSW index (WHERE embedding_dim = N) when no scope narrows the rows.
    params.push(model);
    const sameModel = `m.embedding_model = $${params.length} AND m.embedding_dim = ${Math.trunc(dimensions)}`;
    let distance: string;
    if (this.pgvector.known(provider)) {
      params.push(`[${vector.join(',')}]`);
      distance = `(m.embedding::vector(${dimensions}) <=> $${params.length}::vector(${dimensions}))`;
    } else {
      params.push(vector);
      distance = `${this.ctx.schema}.cosine_distance(m.embedding, $${params.length}::real[])`;
    }
    params.push(pool);
    return `SELECT r.id::text AS id, 1 - r.distance AS score, row_number() OVER (ORDER BY r.distance, r.id) AS rank
      FROM (SELECT m.id, ${distance}::float8 AS distance FROM ${from}
             WHERE ${where} AND m.embedding IS NOT NULL AND ${sameModel}
             ORDER BY distance, m.id LIMIT $${params.length}) r`;
  }
}
