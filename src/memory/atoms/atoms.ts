import { z } from 'zod';
import { idForKey } from '../../core/ids.js';
import { dimensionsProblem, realArrayBinary } from '../../core/vectors.js';
import { ValidationError } from '../../errors/index.js';
import { settingsStatement } from '../../providers/index.js';
import type { StoreContext } from '../context.js';
import { parseInput } from '../validation.js';
import { type Atom, type AtomInput, atomId, validateAtom } from './input.js';
import { type AtomFilter, COLUMNS, embeddingText, filterSchema, filterSql, type StoredAtom, toAtom, VECTOR_INDEXES_LIKE } from './rows.js';
import { AtomSearch, type AtomSearchResult, type SearchOptions } from './search.js';

/** Atoms per upsert statement: one binary parameter each for their embeddings. */
const UPSERT_CHUNK = 500;

/** The longest a deferred vector index build may take. */
const INDEX_BUILD_TIMEOUT_MS = 6 * 3600_000;

/**
 * Knowledge atoms: validated, embedded, upserted by atom_id, read, counted,
 * walked by relation; search is AtomSearch's (atom-search.ts).
 */
export class Atoms {
  private readonly searcher: AtomSearch;

  constructor(private readonly ctx: StoreContext) {
    this.searcher = new AtomSearch(ctx);
  }

  /**
   * Search by full text, by vector or both (hybrid, reciprocal rank fusion).
   *
   * @example
   * const { results } = await memory.atoms.search('pump noise', { mode: 'hybrid', limit: 5 });
   */
  search(query: string, options: SearchOptions = {}): Promise<AtomSearchResult> {
    return this.searcher.search(query, options);
  }

  /** The statements a search would send, for EXPLAIN (see AtomSearch.statements). */
  searchStatements(query: string, options: SearchOptions = {}) {
    return this.searcher.statements(query, options);
  }

  /** The dimensions an atom's own embedding must have (the embedder's). */
  get embeddingDimensions(): number {
    return this.ctx.embedder.dimensions;
  }

  /** The size limit every atom is checked against (limits.maxContentBytes). */
  get maxContentBytes(): number {
    return this.ctx.limits.maxContentBytes;
  }

  /** Validate, embed and upsert atoms in one transaction. Invalid input throws before anything is written. */
  async upsert(inputs: AtomInput[]): Promise<{ inserted: number; updated: number; unchanged: number }> {
    if (!Array.isArray(inputs)) throw new ValidationError('invalid atoms: expected an array of atoms', { got: typeof inputs });
    const atoms = inputs.map((input, index) => {
      const result = validateAtom(input, { maxBytes: this.ctx.limits.maxContentBytes, dimensions: this.ctx.embedder.dimensions });
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
    // Atoms that bring their embedding keep it; the embedder makes the others'.
    const missing = atoms.filter((atom) => !atom.embedding);
    const made = missing.length ? await this.ctx.embed(missing.map(embeddingText)) : [];
    let next = 0;
    const embeddings = atoms.map((atom) => {
      // Validated atoms' numbers are checked; their size is checked here too, for callers that validated without it.
      const problem = atom.embedding && dimensionsProblem(atom.embedding.length, this.ctx.embedder.dimensions);
      if (problem) throw new ValidationError(`atom ${atom.atomId}: its embedding has ${problem}`, { atomId: atom.atomId });
      return realArrayBinary(atom.embedding ?? (made[next++] as number[]));
    });
    return this.ctx.write('atoms.upsert', async (tx, { provider }) => {
      let inserted = 0;
      let updated = 0;
      for (let start = 0; start < atoms.length; start += UPSERT_CHUNK) {
        const chunk = atoms.slice(start, start + UPSERT_CHUNK);
        const { rows } = await tx.query<{ inserted: boolean }>(this.upsertSql(chunk.length), [
          this.ctx.tenant,
          JSON.stringify(chunk.map((atom, i) => this.toRecord(atom, i))),
          this.ctx.version(),
          provider,
          ...embeddings.slice(start, start + UPSERT_CHUNK),
        ]);
        for (const row of rows) row.inserted ? inserted++ : updated++;
      }
      return { inserted, updated, unchanged: atoms.length - inserted - updated };
    });
  }

  /** An atom's columns but its embedding (a binary parameter of its own, joined on `n`). */
  private toRecord(atom: Atom, n: number) {
    return {
      n,
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
      embedding_model: this.ctx.embedder.model,
      embedding_dim: this.ctx.embedder.dimensions,
    };
  }

  /** The upsert of `count` atoms: their columns as JSON ($2), their embeddings as $5… in binary, in the same order. */
  private upsertSql(count: number): string {
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
             e.embedding, r.embedding_model, r.embedding_dim, $3, $4
        FROM jsonb_to_recordset($2::jsonb) AS r(n integer, id uuid, atom_id text, created_at timestamptz, atom_type text, title text,
             summary text, content text, manufacturer text, product_family text, product_version text, difficulty text,
             prerequisites text[], related_atoms text[], source_document text, source_pages text, source_url text,
             quality_score real, safety_level text, safety_notes text, keywords text[], citations jsonb, metadata jsonb,
             last_validated_at timestamptz, embedding_model text, embedding_dim integer)
        JOIN (VALUES ${Array.from({ length: count }, (_, i) => `(${i}, $${i + 5}::real[])`).join(', ')}) AS e(n, embedding) ON e.n = r.n
      ON CONFLICT (tenant_id, atom_id) DO UPDATE
        SET (${content}) = (${excluded}), deleted_at = NULL, version = EXCLUDED.version, origin = EXCLUDED.origin
        WHERE a.deleted_at IS NOT NULL OR (${current}) IS DISTINCT FROM (${excluded})
      RETURNING (xmax = 0) AS inserted`;
  }

  /**
   * Run `load` with the vector indexes set aside, then build them once: for a
   * very large first import, one HNSW build over all rows is several times
   * faster than inserting each row into the graph. Searches meanwhile rank
   * exactly (slower, never wrong). The indexes are rebuilt from their own
   * definitions, on the provider that took the import (other providers keep
   * theirs); if the process dies before the rebuild, `agentmem schema diff`
   * reports the missing indexes and `agentmem schema fix` builds them.
   */
  async withVectorIndexesDeferred<T>(load: () => Promise<T>, onBuild?: () => void): Promise<T> {
    const schema = this.ctx.schema;
    const definitions = await this.ctx.write('atoms.index.defer', async (tx) => {
      const { rows } = await tx.query<{ indexname: string; indexdef: string }>(
        `SELECT indexname, indexdef FROM pg_indexes
          WHERE schemaname = $1 AND tablename = 'knowledge_atoms' AND indexname LIKE '${VECTOR_INDEXES_LIKE}'`,
        [schema],
      );
      for (const row of rows) await tx.query(`DROP INDEX ${schema}."${row.indexname.replace(/"/g, '""')}"`);
      return rows.map((r) => r.indexdef);
    });
    let loadFailed = false;
    try {
      return await load();
    } catch (error) {
      loadFailed = true;
      throw error;
    } finally {
      onBuild?.();
      // Built even when the load failed (the atoms that landed need their graph); a build
      // failure after a failed load must not hide why the load failed.
      await this.buildIndexes(definitions).catch((error) => {
        if (!loadFailed) throw error;
      });
    }
  }

  private async buildIndexes(definitions: string[]): Promise<void> {
    await this.ctx.write('atoms.index.build', async (tx) => {
      // A build holds the whole graph in memory when it can; it may take minutes.
      const settings = settingsStatement({ maintenance_work_mem: this.ctx.search.indexBuildMemory, statement_timeout: '0' });
      if (settings) await tx.query(settings.sql, settings.params);
      for (const definition of definitions) {
        await tx.query(definition.replace(/^CREATE INDEX /, 'CREATE INDEX IF NOT EXISTS '), undefined, {
          timeoutMs: INDEX_BUILD_TIMEOUT_MS,
        });
      }
    });
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
    return this.ctx.deleteRow('atoms.delete', 'knowledge_atoms', { atom_id: key });
  }

  async count(filter: AtomFilter = {}): Promise<number> {
    const f = parseInput(filterSchema, filter, 'atom filter');
    return this.ctx.read(
      'atoms.count',
      async (tx) => {
        const params: unknown[] = [this.ctx.tenant];
        const { rows } = await tx.query<{ n: string }>(
          `SELECT count(*) AS n FROM ${this.ctx.table('knowledge_atoms')} WHERE ${filterSql(f, params, this.ctx.schema)}`,
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
    this.searcher.forgetEmbeddingChecks();
    return done;
  }
}
