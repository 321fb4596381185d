import { z } from 'zod';
import { hint } from '../core/commands.js';
import { ATOM_TYPES, DIFFICULTY_LEVELS, SAFETY_LEVELS } from '../core/enums.js';
import { idForKey } from '../core/ids.js';
import { EmbeddingMismatchError, ValidationError } from '../errors/index.js';
import type { Queryable } from '../providers/index.js';
import { type Atom, type AtomInput, atomId, validateAtom } from './atom-schema.js';
import { type StoreContext, toDate, toDateOrNull } from './context.js';
import { cleanText, jsonObject, parseInput } from './validation.js';

export interface StoredAtom extends Atom {
  id: string;
  createdAt: Date;
  lastValidatedAt: Date | undefined;
  embeddingModel: string | null;
  embeddingDim: number | null;
}

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

const filterSchema = z
  .object({
    atomTypes: z.array(z.enum(ATOM_TYPES)).min(1).optional(),
    manufacturer: cleanText(500).optional(),
    productFamily: cleanText(500).optional(),
    difficulty: z.enum(DIFFICULTY_LEVELS).optional(),
    safetyLevels: z.array(z.enum(SAFETY_LEVELS)).min(1).optional(),
    minQuality: z.number().min(0).max(1).optional(),
    keywords: z.array(cleanText(200)).min(1).optional(),
    metadata: jsonObject.optional(),
  })
  .strict();
export type AtomFilter = z.input<typeof filterSchema>;

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

const COLUMNS = `id, atom_id, atom_type, title, summary, content, manufacturer, product_family, product_version, difficulty,
  prerequisites, related_atoms, source_document, source_pages, source_url, quality_score, safety_level, safety_notes,
  keywords, citations, metadata, created_at, last_validated_at, embedding_model, embedding_dim`;

const opt = <T>(value: T | null | undefined): T | undefined => (value === null ? undefined : value);

function toAtom(row: Record<string, unknown>): StoredAtom {
  return {
    id: String(row.id),
    atomId: String(row.atom_id),
    atomType: row.atom_type as Atom['atomType'],
    title: String(row.title),
    summary: opt(row.summary as string | null),
    content: String(row.content),
    manufacturer: opt(row.manufacturer as string | null),
    productFamily: opt(row.product_family as string | null),
    productVersion: opt(row.product_version as string | null),
    difficulty: opt(row.difficulty as Atom['difficulty'] | null),
    prerequisites: (row.prerequisites as string[]) ?? [],
    relatedAtoms: (row.related_atoms as string[]) ?? [],
    sourceDocument: opt(row.source_document as string | null),
    sourcePages: opt(row.source_pages as string | null),
    sourceUrl: opt(row.source_url as string | null),
    qualityScore: row.quality_score === null || row.quality_score === undefined ? undefined : Number(row.quality_score),
    safetyLevel: opt(row.safety_level as Atom['safetyLevel'] | null),
    safetyNotes: opt(row.safety_notes as string | null),
    keywords: (row.keywords as string[]) ?? [],
    citations: (row.citations as Atom['citations']) ?? [],
    metadata: (row.metadata as Record<string, unknown>) ?? {},
    createdAt: toDate(row.created_at),
    lastValidatedAt: toDateOrNull(row.last_validated_at) ?? undefined,
    embeddingModel: (row.embedding_model as string | null) ?? null,
    embeddingDim: row.embedding_dim === null || row.embedding_dim === undefined ? null : Number(row.embedding_dim),
  };
}

/** Parameterised WHERE fragments for the filters; `params` already holds the tenant as $1. */
function filterSql(filter: z.output<typeof filterSchema>, params: unknown[]): string {
  const clauses = ['tenant_id = $1', 'deleted_at IS NULL'];
  const bind = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
  if (filter.atomTypes) clauses.push(`atom_type = ANY(${bind(filter.atomTypes)}::text[])`);
  if (filter.manufacturer) clauses.push(`manufacturer = ${bind(filter.manufacturer)}`);
  if (filter.productFamily) clauses.push(`product_family = ${bind(filter.productFamily)}`);
  if (filter.difficulty) clauses.push(`difficulty = ${bind(filter.difficulty)}`);
  if (filter.safetyLevels) clauses.push(`safety_level = ANY(${bind(filter.safetyLevels)}::text[])`);
  if (filter.minQuality !== undefined) clauses.push(`quality_score >= ${bind(filter.minQuality)}`);
  if (filter.keywords) clauses.push(`keywords && ${bind(filter.keywords)}::text[]`);
  if (filter.metadata) clauses.push(`metadata @> ${bind(JSON.stringify(filter.metadata))}::jsonb`);
  return clauses.join(' AND ');
}

const pgArray = (values: number[]) => `{${values.join(',')}}`;
const pgVector = (values: number[]) => `[${values.join(',')}]`;

interface VectorCapability {
  method: VectorMethod;
  iterativeScan: boolean;
}

/**
 * Knowledge atoms: validated, embedded, upserted by atom_id, searched by full
 * text, by vector and by both (reciprocal rank fusion). All filters run in SQL
 * before the LIMIT.
 */
export class Atoms {
  private readonly capabilities = new Map<string, VectorCapability>();
  private readonly embeddingChecked = new Map<string, number>();

  constructor(private readonly ctx: StoreContext) {}

  /** The size limit every atom is checked against (limits.maxContentBytes). */
  get maxContentBytes(): number {
    return this.ctx.limits.maxContentBytes;
  }

  /** Validate, embed and upsert atoms in one transaction. Invalid input throws before anything is written. */
  async upsert(inputs: AtomInput[]): Promise<{ inserted: number; updated: number; unchanged: number }> {
    if (!Array.isArray(inputs)) throw new ValidationError('invalid atoms: expected an array of atoms', { got: typeof inputs });
    const atoms = inputs.map((input, index) => {
      const result = validateAtom(input, { maxBytes: this.ctx.limits.maxContentBytes });
      if (!result.ok) {
        throw new ValidationError(`invalid atom at index ${index}: ${result.issues.map((i) => `${i.field}: ${i.message}`).join('; ')}`, {
          index,
          issues: result.issues,
        });
      }
      return result.atom;
    });
    return this.upsertValid(atoms);
  }

  /** Upsert atoms that already passed validateAtom() (the importer validates each one for its report). */
  async upsertValid(atoms: Atom[]): Promise<{ inserted: number; updated: number; unchanged: number }> {
    if (!atoms.length) return { inserted: 0, updated: 0, unchanged: 0 };
    const seen = new Set<string>();
    for (const atom of atoms) {
      if (seen.has(atom.atomId)) throw new ValidationError(`atom ${atom.atomId} appears twice in one batch`, { atomId: atom.atomId });
      seen.add(atom.atomId);
    }
    const embeddings = await this.ctx.embed(atoms.map(embeddingText));
    return this.ctx.write('atoms.upsert', async (tx, { provider }) => {
      let inserted = 0;
      let updated = 0;
      for (let start = 0; start < atoms.length; start += 500) {
        const chunk = atoms.slice(start, start + 500).map((atom, i) => this.toRecord(atom, embeddings[start + i] as number[]));
        const { rows } = await tx.query<{ inserted: boolean }>(this.upsertSql(), [
          this.ctx.tenant,
          JSON.stringify(chunk),
          this.ctx.version(),
          provider,
        ]);
        for (const row of rows) row.inserted ? inserted++ : updated++;
      }
      return { inserted, updated, unchanged: atoms.length - inserted - updated };
    });
  }

  private toRecord(atom: Atom, embedding: number[]) {
    return {
      id: idForKey(this.ctx.tenant, 'atom', atom.atomId),
      atom_id: atom.atomId,
      atom_type: atom.atomType,
      title: atom.title,
      summary: atom.summary ?? null,
      content: atom.content,
      manufacturer: atom.manufacturer ?? null,
      product_family: atom.productFamily ?? null,
      product_version: atom.productVersion ?? null,
      difficulty: atom.difficulty ?? null,
      prerequisites: atom.prerequisites,
      related_atoms: atom.relatedAtoms,
      source_document: atom.sourceDocument ?? null,
      source_pages: atom.sourcePages ?? null,
      source_url: atom.sourceUrl ?? null,
      quality_score: atom.qualityScore ?? null,
      safety_level: atom.safetyLevel ?? null,
      safety_notes: atom.safetyNotes ?? null,
      keywords: atom.keywords,
      citations: atom.citations,
      metadata: atom.metadata,
      created_at: (atom.createdAt ?? new Date()).toISOString(),
      last_validated_at: atom.lastValidatedAt?.toISOString() ?? null,
      // As an array literal: casting text to real[] is far cheaper for the server than a JSON array of numbers.
      embedding: pgArray(embedding),
      embedding_model: this.ctx.embedder.model,
      embedding_dim: this.ctx.embedder.dimensions,
    };
  }

  private upsertSql(): string {
    const t = this.ctx.table('knowledge_atoms');
    const content = `atom_type, title, summary, content, manufacturer, product_family, product_version, difficulty, prerequisites,
      related_atoms, source_document, source_pages, source_url, quality_score, safety_level, safety_notes, keywords, citations,
      metadata, last_validated_at, embedding, embedding_model, embedding_dim`;
    const excluded = content
      .split(',')
      .map((c) => `EXCLUDED.${c.trim()}`)
      .join(', ');
    const current = content
      .split(',')
      .map((c) => `a.${c.trim()}`)
      .join(', ');
    return `INSERT INTO ${t} AS a (tenant_id, id, atom_id, created_at, ${content}, version, origin)
      SELECT $1, r.id, r.atom_id, r.created_at, r.atom_type, r.title, r.summary, r.content, r.manufacturer, r.product_family,
             r.product_version, r.difficulty, r.prerequisites, r.related_atoms, r.source_document, r.source_pages, r.source_url,
             r.quality_score, r.safety_level, r.safety_notes, r.keywords, r.citations, r.metadata, r.last_validated_at,
             r.embedding::real[], r.embedding_model, r.embedding_dim, $3, $4
        FROM jsonb_to_recordset($2::jsonb) AS r(id uuid, atom_id text, created_at timestamptz, atom_type text, title text,
             summary text, content text, manufacturer text, product_family text, product_version text, difficulty text,
             prerequisites text[], related_atoms text[], source_document text, source_pages text, source_url text,
             quality_score real, safety_level text, safety_notes text, keywords text[], citations jsonb, metadata jsonb,
             last_validated_at timestamptz, embedding text, embedding_model text, embedding_dim integer)
      ON CONFLICT (tenant_id, atom_id) DO UPDATE
        SET (${content}) = (${excluded}), deleted_at = NULL, version = EXCLUDED.version, origin = EXCLUDED.origin
        WHERE a.deleted_at IS NOT NULL OR (${current}) IS DISTINCT FROM (${excluded})
      RETURNING (xmax = 0) AS inserted`;
  }

  async get(id: string): Promise<StoredAtom | null> {
    const key = parseInput(atomId, id, 'atom id');
    return this.ctx.read(
      'atoms.get',
      async (tx) => {
        const { rows } = await tx.query(
          `SELECT ${COLUMNS} FROM ${this.ctx.table('knowledge_atoms')} WHERE tenant_id = $1 AND atom_id = $2 AND deleted_at IS NULL`,
          [this.ctx.tenant, key],
        );
        return rows[0] ? toAtom(rows[0]) : null;
      },
      { single: true },
    );
  }

  async delete(id: string): Promise<boolean> {
    const key = parseInput(atomId, id, 'atom id');
    return this.ctx.write(
      'atoms.delete',
      async (tx, { provider }) => {
        const { rowCount } = await tx.query(
          `UPDATE ${this.ctx.table('knowledge_atoms')} SET deleted_at = now(), version = $3, origin = $4
          WHERE tenant_id = $1 AND atom_id = $2 AND deleted_at IS NULL`,
          [this.ctx.tenant, key, this.ctx.version(), provider],
        );
        return rowCount > 0;
      },
      { single: true },
    );
  }

  async count(filter: AtomFilter = {}): Promise<number> {
    const f = parseInput(filterSchema, filter, 'atom filter');
    return this.ctx.read(
      'atoms.count',
      async (tx) => {
        const params: unknown[] = [this.ctx.tenant];
        const { rows } = await tx.query<{ n: string }>(
          `SELECT count(*) AS n FROM ${this.ctx.table('knowledge_atoms')} WHERE ${filterSql(f, params)}`,
          params,
        );
        return Number(rows[0]?.n ?? 0);
      },
      { single: true },
    );
  }

  /** Atoms reachable through related_atoms and prerequisites, up to `depth` hops, nearest first. */
  async related(id: string, depth = 1): Promise<{ atom: StoredAtom; depth: number }[]> {
    const key = parseInput(atomId, id, 'atom id');
    const hops = parseInput(z.number().int().min(1).max(10), depth, 'depth');
    return this.ctx.read(
      'atoms.related',
      async (tx) => {
        const t = this.ctx.table('knowledge_atoms');
        const { rows } = await tx.query(
          `WITH RECURSIVE walk(atom_id, depth) AS (
           SELECT n.atom_id, 1 FROM ${t} a CROSS JOIN LATERAL unnest(a.related_atoms || a.prerequisites) AS n(atom_id)
            WHERE a.tenant_id = $1 AND a.atom_id = $2 AND a.deleted_at IS NULL
           UNION
           SELECT n.atom_id, w.depth + 1 FROM walk w
             JOIN ${t} a ON a.tenant_id = $1 AND a.atom_id = w.atom_id AND a.deleted_at IS NULL
             CROSS JOIN LATERAL unnest(a.related_atoms || a.prerequisites) AS n(atom_id)
            WHERE w.depth < $3
         )
         SELECT ${COLUMNS.split(',')
           .map((c) => `a.${c.trim()}`)
           .join(', ')}, min(w.depth) AS depth
           FROM walk w JOIN ${t} a ON a.tenant_id = $1 AND a.atom_id = w.atom_id AND a.deleted_at IS NULL
          WHERE w.atom_id <> $2
          GROUP BY a.id, a.tenant_id
          ORDER BY depth, a.atom_id`,
          [this.ctx.tenant, key, hops],
        );
        return rows.map((r) => ({ atom: toAtom(r), depth: Number(r.depth) }));
      },
      { single: true },
    );
  }

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

  /** Re-embed every atom whose vector came from another model or dimension. Returns how many changed. */
  async reembed(onProgress?: (done: number, total: number) => void): Promise<number> {
    const table = this.ctx.table('knowledge_atoms');
    const stale = await this.ctx.read('atoms.reembed.scan', async (tx) => {
      const { rows } = await tx.query<{ atom_id: string; title: string; summary: string | null; content: string; keywords: string[] }>(
        `SELECT atom_id, title, summary, content, keywords FROM ${table}
          WHERE tenant_id = $1 AND deleted_at IS NULL
            AND (embedding IS NULL OR embedding_model IS DISTINCT FROM $2 OR embedding_dim IS DISTINCT FROM $3)`,
        [this.ctx.tenant, this.ctx.embedder.model, this.ctx.embedder.dimensions],
      );
      return rows;
    });
    let done = 0;
    for (let start = 0; start < stale.length; start += 500) {
      const chunk = stale.slice(start, start + 500);
      const vectors = await this.ctx.embed(
        chunk.map((r) => embeddingText({ title: r.title, summary: r.summary ?? undefined, content: r.content, keywords: r.keywords })),
      );
      await this.ctx.write('atoms.reembed', async (tx, { provider }) => {
        await tx.query(
          `UPDATE ${table} a SET embedding = r.embedding, embedding_model = $3, embedding_dim = $4, version = $5, origin = $6
             FROM jsonb_to_recordset($2::jsonb) AS r(atom_id text, embedding real[])
            WHERE a.tenant_id = $1 AND a.atom_id = r.atom_id`,
          [
            this.ctx.tenant,
            JSON.stringify(chunk.map((r, i) => ({ atom_id: r.atom_id, embedding: vectors[i] }))),
            this.ctx.embedder.model,
            this.ctx.embedder.dimensions,
            this.ctx.version(),
            provider,
          ],
        );
      });
      done += chunk.length;
      onProgress?.(done, stale.length);
    }
    this.embeddingChecked.clear();
    return done;
  }
}

function embeddingText(atom: Pick<Atom, 'title' | 'summary' | 'content' | 'keywords'>): string {
  return [atom.title, atom.summary ?? '', atom.keywords.join(' '), atom.content].join('\n');
}

/** Reciprocal rank fusion: an atom found by either list scores; found by both, it scores more. */
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
