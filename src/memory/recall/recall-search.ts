/**
 * Recall by meaning over memories and messages (rows of `memories`): a text
 * leg (rows sharing any of the query's words, ranked by cover density) and a vector leg (cosine distance
 * to the query's embedding, among vectors of the configured model), fused by
 * reciprocal rank for `hybrid`. Every filter — tenant, scope, type, time,
 * current facts only — is applied in SQL before the LIMIT of each leg. When
 * the embedder fails at query time, the answer comes from the text leg and
 * says so (`degraded: 'embedder'`) instead of failing. A user's long history
 * (1,000 rows or more) is searched by walks that stay about as fast as it
 * grows: the newest matches of the words, and an HNSW graph of the rows
 * embedded since it grew long (migration 0031).
 */
import { MEMORY_TYPES, MESSAGE_TYPES, type MemoryType } from '../../core/enums.js';
import { logger } from '../../observability/logger.js';
import type { Queryable } from '../../providers/index.js';
import type { StoreContext } from '../context.js';
import { fuseByRank } from '../search/fusion.js';
import { efSearchSql, PgvectorByProvider } from '../search/vector-index.js';
import { checkEmbeddingModel } from './embedding-model.js';
import { hasLongHistorySql } from './embedding-store.js';
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

/** The memories' HNSW graph (migration 0031): what user_graph_nearest() walks, whose size sets its ef_search. */
const GRAPH_INDEX = 'memories_embedding_hnsw_idx';

/** How often a long history's search counts it again (see RecallSearch.longHistories). */
const LENGTH_RECOUNT_MS = 30_000;

/** A long history's text window walks at most this many windows of the user's newest rows (user_text_window). */
const WINDOW_WALK = 20;

/** The rows a leg reads and the filters they pass (see RecallSearch.filters). */
interface Filters {
  from: string;
  branches: string[];
  where: string;
  user?: string;
  walk: { types: string; sessions: string; session: string; at: string };
}

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

  /**
   * Users whose history is long (GRAPH_AFTER_ROWS rows or more), per provider,
   * as their last search counted: their search ranks a window of the newest
   * text matches and walks the HNSW graph; a short history is ranked whole
   * and exactly, in prepared statements. A user's first search, or one after
   * their history grew, takes the exact way: every match and distance ranked.
   * The count rides along with every search of a short history (it stops at
   * GRAPH_AFTER_ROWS), and with a long one's at most every LENGTH_RECOUNT_MS.
   */
  private readonly longHistories = new Map<string, { long: boolean; at: number }>();

  private rememberLength(key: string, long: boolean): void {
    if (this.longHistories.size >= 10_000) this.longHistories.clear();
    this.longHistories.set(key, { long, at: Date.now() });
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
    const { userId } = request.scope;
    const sizeKey = userId === undefined ? undefined : `${provider}\u0000${this.ctx.tenant}\u0000${userId}`;
    const length = sizeKey === undefined ? undefined : this.longHistories.get(sizeKey);
    const long = length?.long === true;
    if (request.mode !== 'vector' || !vector) legs.push(`SELECT 't' AS leg, * FROM (${this.textLeg(request, params, pool, long)}) t`);
    if (vector) legs.push(`SELECT 'v' AS leg, * FROM (${this.vectorLeg(provider, request, vector, params, pool, long)}) v`);
    // Whether the user's history is long, for their next searches: a count that stops at GRAPH_AFTER_ROWS.
    if (userId !== undefined && (!long || Date.now() - (length?.at ?? 0) > LENGTH_RECOUNT_MS)) {
      params.push(userId);
      legs.push(
        `SELECT 'n' AS leg, NULL AS id, ${hasLongHistorySql(this.ctx.schema, '$1', `$${params.length}`)}::int::float8 AS score, 0 AS rank`,
      );
    }
    const { rows } = await tx.query<{ leg: 't' | 'v' | 'n'; id: string; score: number; rank: string }>(legs.join(' UNION ALL '), params, {
      prepare: true,
    });
    const textHits: Ranked[] = [];
    const vectorHits: Ranked[] = [];
    for (const row of rows.sort((a, b) => Number(a.rank) - Number(b.rank))) {
      const rank = Number(row.rank);
      const score = Number(row.score);
      if (row.leg === 'n') this.rememberLength(sizeKey as string, score === 1);
      else if (row.leg === 't') textHits.push({ id: row.id, score, textRank: rank });
      else vectorHits.push({ id: row.id, score, similarity: score, vectorRank: rank });
    }
    return { textHits, vectorHits };
  }

  /**
   * The rows both legs read (`from`, aliased `m`) and the filters they share
   * (`where`); their values are appended to params ($1 is the tenant).
   */
  private filters(request: RecallRequest, params: unknown[], long: boolean): Filters {
    const s = this.ctx.schema;
    const add = (value: unknown) => {
      params.push(value);
      return `$${params.length}`;
    };
    const types = add(request.types);
    const where = [
      'm.tenant_id = $1',
      'm.deleted_at IS NULL',
      'm.namespace IS NULL',
      `m.memory_type = ANY(${types}::text[])`,
      '(m.expires_at IS NULL OR m.expires_at > now())',
    ];
    // The same filters as user_text_window() and user_graph_nearest() take them (NULL: none).
    const walk = { types, sessions: 'NULL', session: 'NULL', at: 'NULL' };
    // A user's rows: their own, and those in their sessions that have no user of their own (a session given
    // its user after they were written). A short history: as tuple ids read from the user's and the
    // sessions' index entries once (an init plan), in a fenced subquery that has nothing but them to go by:
    // the planner is left a TID scan of those rows, never a scan of the tenant, whatever its estimates say
    // (of an array it cannot see into, of a table not yet analyzed). A long one: the user's own rows by
    // their indexes (those outside the graph by theirs), the sessions' rows as tuple ids; its text window
    // and its graph are walked by SQL functions (user_text_window, user_graph_nearest).
    // An agent's rows (in its sessions) alone: as tuple ids, fenced, as a short history's.
    const table = this.ctx.table('memories');
    const sessionsWhere = (column: string, value: string) => `ss.tenant_id = $1 AND ss.${column} = ${value}`;
    let branches = [`${table} m`];
    let user: string | undefined;
    const { userId, agentId, sessionId } = request.scope;
    if (userId !== undefined) {
      const u = add(userId);
      user = u;
      const own = `SELECT x.ctid FROM ${table} x WHERE x.tenant_id = $1 AND x.user_id = ${u}`;
      const inSessions = `SELECT x.ctid FROM ${s}.sessions ss
        JOIN ${table} x ON x.tenant_id = ss.tenant_id AND x.session_id = ss.id AND x.user_id IS NULL WHERE ${sessionsWhere('user_id', u)}`;
      branches = long
        ? [
            `(SELECT * FROM ${table} m0 WHERE m0.tenant_id = $1 AND m0.user_id = ${u}) m`,
            `(SELECT * FROM ${table} m0 WHERE m0.ctid = ANY(ARRAY(${inSessions})) OFFSET 0) m`,
          ]
        : [`(SELECT * FROM ${table} m0 WHERE m0.ctid = ANY(ARRAY(${own} UNION ALL ${inSessions})) OFFSET 0) m`];
    }
    if (agentId !== undefined) {
      const a = add(agentId);
      if (userId !== undefined) {
        walk.sessions = `ARRAY(SELECT ss.id FROM ${s}.sessions ss WHERE ${sessionsWhere('agent_id', a)})`;
        where.push(`m.session_id = ANY(${walk.sessions})`);
      } else
        branches = [
          `(SELECT * FROM ${table} m0 WHERE m0.ctid = ANY(ARRAY(
            SELECT x.ctid FROM ${s}.sessions ss JOIN ${table} x ON x.tenant_id = ss.tenant_id AND x.session_id = ss.id
             WHERE ${sessionsWhere('agent_id', a)})) OFFSET 0) m`,
        ];
    }
    if (sessionId !== undefined) {
      walk.session = `${add(sessionId)}::uuid`;
      where.push(`m.session_id = ${walk.session}`);
    }
    if (request.asOf) {
      const at = add(request.asOf);
      walk.at = `${at}::timestamptz`;
      where.push(`m.created_at <= ${at}`);
      if (!request.includeSuperseded) where.push(`(m.valid_to IS NULL OR m.valid_to > ${at})`);
    } else if (!request.includeSuperseded) where.push('m.valid_to IS NULL');
    // Both branches of a user's rows are read as one (their union) by the vector half, each on its own by the text window.
    const from = branches.length === 1 ? (branches[0] as string) : `(${branches.map((b) => `SELECT m.* FROM ${b}`).join(' UNION ALL ')}) m`;
    return { from, branches, where: where.join(' AND '), ...(user ? { user } : {}), walk };
  }

  /**
   * Rows sharing any word of the query (its stems, stop words left out), best
   * cover first: a query is a question in words, not a list every hit must
   * hold all of; the rank puts rows with more and closer words first. In a
   * long history (see longHistories), only a window of the newest matches is
   * ranked: a query of common words matches most of it.
   */
  private textLeg(request: RecallRequest, params: unknown[], pool: number, long: boolean): string {
    const { from, branches, where, user, walk } = this.filters(request, params, long);
    params.push(request.text, pool);
    const text = `$${params.length - 1}`;
    const anyWord = `replace(plainto_tsquery('english', ${text})::text, ' & ', ' | ')::tsquery`;
    let matches: string;
    const window = this.ctx.search.textWindow;
    if (long && window > 0) {
      // The newest matches of all the words and of any, each a window of the user's own rows walked newest
      // first by user_text_window() (a row in both is ranked once); the rows of the user's sessions without
      // a user of their own are few, and all ranked.
      const window$ = (words: string) => `SELECT * FROM ${this.ctx.schema}.user_text_window($1, ${user}, q.${words}, ${walk.types}::text[],
          ${walk.at}, ${request.includeSuperseded}, ${walk.sessions}, ${walk.session}, ${window}, ${window * WINDOW_WALK})`;
      matches = `SELECT DISTINCT ON (w.id) w.id, w.search, q.any_words AS q
        FROM (SELECT ${anyWord} AS any_words, plainto_tsquery('english', ${text}) AS all_words OFFSET 0) q,
        LATERAL (${window$('all_words')} UNION ALL ${window$('any_words')}
          UNION ALL SELECT m.id, m.search FROM ${branches[1]} WHERE ${where} AND m.search @@ q.any_words) w`;
    } else {
      // The query's tsquery made once (OFFSET 0 keeps the planner from folding it into every use, which a
      // prepared statement's generic plan would then compute again for each row it tests and sorts).
      matches = `SELECT m.id, m.search, q.q FROM ${from}, (SELECT ${anyWord} AS q OFFSET 0) AS q WHERE ${where} AND m.search @@ q.q`;
    }
    // Cover density costs ~6 µs a match: past search.textRerank matches, only the best of them by ts_rank
    // (~1.6 µs, the same words and weights) are ranked by it — as the atoms' text search does.
    const rerank = this.ctx.search.textRerank;
    const candidates =
      rerank > 0
        ? `(SELECT * FROM (${matches}) c0 ORDER BY ts_rank(c0.search, c0.q) DESC, c0.id LIMIT ${Math.max(rerank, pool)})`
        : `(${matches})`;
    return `SELECT r.id::text AS id, r.score, row_number() OVER (ORDER BY r.score DESC, r.id) AS rank
      FROM (SELECT c.id, ts_rank_cd(c.search, c.q)::float8 AS score FROM ${candidates} c
             ORDER BY score DESC, c.id LIMIT $${params.length}) r`;
  }

  /**
   * Cosine similarity to the query among vectors of the configured model:
   * with pgvector's `<=>` where the provider has it, else the SQL function (a
   * provider whose pgvector is not known yet gets the function, which ranks the same).
   */
  private vectorLeg(provider: string, request: RecallRequest, vector: number[], params: unknown[], pool: number, long: boolean): string {
    const { from, branches, where, user, walk } = this.filters(request, params, long);
    const { model, dimensions } = this.ctx.embedder;
    const dim = Math.trunc(dimensions);
    // The dimension is inlined (an integer we own), so a prepared statement's generic plan can still
    // match a partial index on it.
    params.push(model);
    const model$ = `$${params.length}`;
    const sameModel = `m.embedding_model = ${model$} AND m.embedding_dim = ${dim}`;
    let distance: string;
    let query = '';
    if (this.pgvector.known(provider)) {
      params.push(`[${vector.join(',')}]`);
      query = `$${params.length}`;
      distance = `(m.embedding::vector(${dim}) <=> ${query}::vector(${dim}))`;
    } else {
      params.push(vector);
      distance = `${this.ctx.schema}.cosine_distance(m.embedding, $${params.length}::real[])`;
    }
    // The limit inlined too (an integer we own): a generic plan that knows how few rows it keeps.
    const limit = String(Math.trunc(pool));
    const ranked = (
      rows: string,
    ) => `SELECT r.id::text AS id, 1 - r.distance AS score, row_number() OVER (ORDER BY r.distance, r.id) AS rank
      FROM (${rows}) r`;
    const graph = user && long ? this.pgvector.graph(provider) : null;
    if (!graph) {
      return ranked(`SELECT m.id, ${distance}::float8 AS distance FROM ${from}
             WHERE ${where} AND m.embedding IS NOT NULL AND ${sameModel}
             ORDER BY distance, m.id LIMIT ${limit}`);
    }
    // A user with many rows (migration 0031): the rows outside the graph (embedded while the user had few,
    // and the rows of their sessions without a user) ranked exactly, through the index of such rows, beside
    // the nearest of the graph's (the user's own), found by user_graph_nearest() walking it, ranked exactly.
    const outside = branches
      .map(
        (branch) => `(SELECT m.id, ${distance}::float8 AS distance FROM ${branch}
          WHERE ${where} AND m.embedding IS NOT NULL AND m.embedding_graph IS NOT TRUE AND ${sameModel}
          ORDER BY distance, m.id LIMIT ${limit})`,
      )
      .join(' UNION ALL ');
    params.push(this.ctx.schema, GRAPH_INDEX);
    const efSearch = efSearchSql(`$${params.length - 1}`, `$${params.length}`, String(Math.trunc(this.ctx.search.efSearch)));
    const walked = `(SELECT g.id, g.distance FROM ${this.ctx.schema}.user_graph_nearest($1, ${user}, ${query}::text, '${graph}', ${dim},
          ${model$}, ${walk.types}::text[], ${walk.at}, ${request.includeSuperseded}, ${walk.sessions}, ${walk.session}, ${limit},
          ${efSearch}) g)`;
    return ranked(`SELECT u.id, u.distance FROM (${outside} UNION ALL ${walked}) u ORDER BY u.distance, u.id LIMIT ${limit}`);
  }
}
