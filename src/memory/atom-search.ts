import { z } from 'zod';
import { hint } from '../core/commands.js';
import { EmbeddingMismatchError } from '../errors/index.js';
import type { Queryable } from '../providers/index.js';
import { COLUMNS, filterSchema, filterSql, pgArray, type StoredAtom, toAtom } from './atom-rows.js';
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

const searchSchema = z
  .object({
    mode: z.enum(['text', 'vector', 'hybrid']).default('hybrid'),
    limit: z.number().int().min(1).max(1000).default(10),
    filter: filterSchema.default({}),
  })
  .strict();
export type SearchOptions = z.input<typeof searchSchema>;

/** Reciprocal rank fusion constant (the usual 60). */
const RRF_K = 60;

const pgVector = (values: number[]) => `[${values.join(',')}]`;

interface VectorCapability {
  method: VectorMethod;
  iterativeScan: boolean;
}

/**
 * Search over knowledge atoms: full text, vector (pgvector's HNSW or exact
 * distance, or exact cosine in SQL without pgvector) and both, fused by
 * reciprocal rank. All filters run in SQL before the LIMIT.
 */
export class AtomSearch {
  private readonly capabilities = new Map<string, VectorCapability>();
  private readonly embeddingChecked = new Map<string, number>();

  constructor(private readonly ctx: StoreContext) {}

  async search(query: string, options: SearchOptions = {}): Promise<AtomSearchResult> {
    const text = parseInput(cleanText(2000).min(1, 'must not be empty'), query, 'search query');
    const o = parseInput(searchSchema, options, 'search options');
    const vector = o.mode === 'text' ? undefined : (await this.ctx.embed([text]))[0];
    return this.ctx.read(`atoms.search.${o.mode}`, async (tx, { provider }) => {
      const pool = o.mode === 'hybrid' ? Math.max(o.limit * 4, 40) : o.limit;
      const textHits = o.mode === 'vector' ? [] : await this.textSearch(tx, text, o.filter, pool);
      let method: VectorMethod | null = null;
      let vectorHits: AtomHit[] = [];
      if (vector) {
        const capability = await this.capability(tx, provider);
        await this.checkEmbeddings(tx, provider);
        ({ hits: vectorHits, method } = await this.vectorSearch(tx, vector, o.filter, pool, capability));
      }
      if (o.mode === 'text') return { mode: o.mode, vectorMethod: null, results: textHits };
      if (o.mode === 'vector') return { mode: o.mode, vectorMethod: method, results: vectorHits };
      return { mode: o.mode, vectorMethod: method, results: fuse(textHits, vectorHits, o.limit) };
    });
  }

  private async textSearch(tx: Queryable, text: string, filter: z.output<typeof filterSchema>, limit: number): Promise<AtomHit[]> {
    const params: unknown[] = [this.ctx.tenant];
    const where = filterSql(filter, params);
    params.push(text, limit);
    const q = `websearch_to_tsquery('english', $${params.length - 1})`;
    const { rows } = await tx.query(
      `SELECT ${COLUMNS}, ts_rank_cd(search, ${q}) AS score FROM ${this.ctx.table('knowledge_atoms')}
        WHERE ${where} AND search @@ ${q}
        ORDER BY score DESC, atom_id
        LIMIT $${params.length}`,
      params,
    );
    return rows.map((r, i) => ({ atom: toAtom(r), score: Number(r.score), textRank: i + 1 }));
  }

  private async vectorSearch(
    tx: Queryable,
    vector: number[],
    filter: z.output<typeof filterSchema>,
    limit: number,
    capability: VectorCapability,
  ): Promise<{ hits: AtomHit[]; method: VectorMethod }> {
    const dim = this.ctx.embedder.dimensions;
    const table = this.ctx.table('knowledge_atoms');
    const params: unknown[] = [this.ctx.tenant];
    // The dimension is inlined (an integer we own) so the planner can match the partial HNSW index.
    const where = `${filterSql(filter, params)} AND embedding_dim = ${dim}`;
    let method = capability.method;
    const threshold = this.ctx.search.exactThreshold;
    if (method === 'hnsw' && threshold > 0) {
      // A filter that leaves few candidates (one tenant of many, a rare vendor) is answered
      // exactly: scanning them costs less than walking the graph past everyone else's rows.
      const { rows } = await tx.query<{ n: string }>(
        `SELECT count(*) AS n FROM (SELECT 1 FROM ${table} WHERE ${where} LIMIT ${threshold + 1}) candidates`,
        params,
      );
      if (Number(rows[0]?.n ?? 0) <= threshold) method = 'exact-pgvector';
    }
    let distance: string;
    if (method === 'exact-sql') {
      params.push(pgArray(vector));
      distance = `${this.ctx.schema}.cosine_distance(embedding, $${params.length}::real[])`;
    } else {
      params.push(pgVector(vector));
      distance = `(embedding::vector(${dim})) <=> $${params.length}::vector(${dim})`;
    }
    if (method === 'hnsw') {
      if (capability.iterativeScan) {
        // Keep scanning the index until enough rows pass the filters, so a filtered query still returns k rows.
        await tx.query("SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true)");
      }
      await tx.query("SELECT set_config('hnsw.ef_search', $1, true)", [String(Math.max(this.ctx.search.efSearch, limit))]);
    }
    params.push(limit);
    // "+ 0" keeps the planner off the HNSW index when the search is meant to be exact.
    const order = method === 'hnsw' ? distance : `(${distance}) + 0`;
    const { rows } = await tx.query(
      `SELECT ${COLUMNS}, ${distance} AS distance FROM ${table}
        WHERE ${where}
        ORDER BY ${order}
        LIMIT $${params.length}`,
      params,
    );
    // relaxed_order may return rows slightly out of order: sort by the exact distance.
    const hits = rows
      .map((r) => ({ atom: toAtom(r), distance: Number(r.distance) }))
      .sort((a, b) => a.distance - b.distance || a.atom.atomId.localeCompare(b.atom.atomId))
      .map((hit, i) => ({ ...hit, score: 1 - hit.distance, vectorRank: i + 1 }));
    return { hits, method };
  }

  /** What this provider can do for vector search (cached per provider). */
  private async capability(tx: Queryable, provider: string): Promise<VectorCapability> {
    const cached = this.capabilities.get(provider);
    if (cached) return cached;
    const { rows } = await tx.query<{ version: string | null; indexdef: string | null }>(
      `SELECT (SELECT extversion FROM pg_extension WHERE extname = 'vector') AS version,
              (SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND indexname = 'knowledge_atoms_embedding_hnsw_idx') AS indexdef`,
      [this.ctx.schema],
    );
    const version = rows[0]?.version ?? null;
    const indexdef = rows[0]?.indexdef ?? '';
    const dim = this.ctx.embedder.dimensions;
    const [major = 0, minor = 0] = (version ?? '0.0').split('.').map(Number);
    const capability: VectorCapability = !version
      ? { method: 'exact-sql', iterativeScan: false }
      : {
          method: indexdef.includes(`vector(${dim})`) ? 'hnsw' : 'exact-pgvector',
          iterativeScan: major > 0 || minor >= 8,
        };
    this.capabilities.set(provider, capability);
    return capability;
  }

  /** Refuse to compare vectors from different models: the distances would be meaningless. */
  /** After a re-embed: look at the stored embeddings again before the next vector search. */
  forgetEmbeddingChecks(): void {
    this.embeddingChecked.clear();
  }

  private async checkEmbeddings(tx: Queryable, provider: string): Promise<void> {
    const checkedAt = this.embeddingChecked.get(provider);
    if (checkedAt && Date.now() - checkedAt < 60_000) return;
    const { rows } = await tx.query<{ embedding_model: string; embedding_dim: number; n: string }>(
      `SELECT embedding_model, embedding_dim FROM ${this.ctx.table('knowledge_atoms')}
        WHERE tenant_id = $1 AND deleted_at IS NULL AND embedding IS NOT NULL
          AND (embedding_model IS DISTINCT FROM $2 OR embedding_dim IS DISTINCT FROM $3)
        LIMIT 1`,
      [this.ctx.tenant, this.ctx.embedder.model, this.ctx.embedder.dimensions],
    );
    const other = rows[0];
    if (other) {
      throw new EmbeddingMismatchError(
        `knowledge atoms were embedded with ${other.embedding_model} (${other.embedding_dim} dimensions) but the configured embedder is ` +
          `${this.ctx.embedder.model} (${this.ctx.embedder.dimensions}); run ${hint('atomsReembed')} or configure the same embedder`,
        { stored: other.embedding_model, storedDim: Number(other.embedding_dim), configured: this.ctx.embedder.model },
      );
    }
    this.embeddingChecked.set(provider, Date.now());
  }
}

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
