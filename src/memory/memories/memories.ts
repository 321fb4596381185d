import { contentHash } from '../../core/content-hash.js';
import { idForKey, newId } from '../../core/ids.js';
import { realArrayBinary } from '../../core/vectors.js';
import { viewColumns } from '../../core/views.js';
import { ConflictError, type EmbedderError, NotFoundError, ValidationError } from '../../errors/index.js';
import { memoryDuplicatesTotal } from '../../observability/metrics.js';
import type { Queryable, QueryOptions } from '../../providers/index.js';
import { byKey, notYetEmbedded, type StoreContext } from '../context.js';
import { type DedupeOptions, type DedupeReport, dedupeMemories } from '../dedupe.js';
import { Retention } from '../expiry.js';
import { embeddingTextOf } from '../recall/embedding-text.js';
import { type MemorySearchOptions, memorySearchSchema, searchQuery } from '../recall/recall-input.js';
import { NON_MESSAGE_TYPES, type RecallMatch, type RecallOutcome, RecallSearch } from '../recall/recall-search.js';
import { rowsById } from '../search/rows-by-id.js';
import { checkJson, checkSize, parseInput, parseUuid } from '../validation.js';
import {
  embeddingText,
  MEMORY_VIEW,
  type Memory,
  type Parsed,
  plainMemory,
  type RecallFilter,
  type RememberInput,
  type RememberOutcome,
  type RowJson,
  recallFilter,
  rememberInput,
  toMemory,
} from './memory-model.js';
import { type RememberAnswer, rememberSql } from './remember-sql.js';

const COLUMNS = viewColumns(MEMORY_VIEW);

/** Typed memories: decisions, actions, issues, context, logs … with retention, deduplication and facts that change. */
export class Memories {
  /** remember's statements (see rememberSql): built once, since they are long and sent on every call. */
  private readonly rememberSql: ReturnType<typeof rememberSql>;

  private readonly recallSearch: RecallSearch;

  constructor(private readonly ctx: StoreContext) {
    this.recallSearch = new RecallSearch(ctx);
    this.rememberSql = rememberSql(ctx.schema);
  }

  /** Store one memory; returns its id. Retrying with the same `id` stores it once; the same fact again returns the first one's id. */
  async remember(input: RememberInput): Promise<string> {
    return (await this.rememberOutcome(input)).id;
  }

  /**
   * Store one memory and say what happened. A fact (a type in dedupe.types)
   * whose normalised content, type and user match a current memory of the
   * tenant is not stored again (dedupe.exact): the existing id comes back.
   * Without an `id`, the id derives from that identity, so the same fact
   * written on two providers at once is one row once they replicate.
   */
  async rememberOutcome(input: RememberInput): Promise<RememberOutcome> {
    const { memory: _, stored: __, ...outcome } = await this.remembered(input, false);
    return outcome;
  }

  /**
   * Store one memory, as rememberOutcome(), and answer it as stored (for a
   * duplicate, the memory that was already there): in the common case the
   * statement that stores it answers it, so there is no second read.
   */
  async rememberAndRead(input: RememberInput): Promise<RememberOutcome & { memory: Memory | null }> {
    const { stored: _, ...outcome } = await this.remembered(input, true);
    return { ...outcome, memory: outcome.memory ?? (await this.get(outcome.id)) };
  }

  /** remember's work; `withRow`: the plain statement answers the memory too (rememberSql's plainRow). */
  private async remembered(input: RememberInput, withRow: boolean): Promise<Stored> {
    const { m, json } = this.parsed(input);
    if (m.supersedes) {
      const supersede = m as Parsed & { supersedes: string };
      const id = m.id ?? newId();
      await this.ctx.write('memory.supersede', (tx, { provider }) => this.supersedeIn(tx, provider, supersede, json, id), { ids: { id } });
      if (this.ctx.recall?.mode === 'inline') await this.ctx.embedInline([id]);
      return { id, duplicate: false, nearDuplicateOf: null };
    }
    const write = this.insertion(m);
    const embedding = write.near ? (await this.ctx.embed([embeddingText(m.content)]))[0] : undefined;
    // Inline embedding goes into the insert itself: one statement and one version, not a second write.
    const inline = embedding ? undefined : await this.inlineEmbedding(m);
    const remember = (sql: string, options?: QueryOptions, vector?: number[]) =>
      this.ctx.write(
        'memory.remember',
        (tx, { provider }) => this.insertIn(tx, provider, sql, m, json, write, embedding, options, vector),
        {
          single: true,
          ids: { id: write.id },
        },
      );
    // With an embedding (near-duplicate links), remember_memory() does it all. Without one, the
    // common case is one plain statement, prepared once per connection (see rememberSql); where
    // nothing is prepared, the call instead (the embedded variant as it is: the call has no slot
    // for it). When the plain statement finds a derived id taken and writes nothing, the call
    // decides: a forgotten or superseded fact may come back.
    const sql = this.rememberSql;
    const plain = inline?.vector ? (withRow ? sql.plainRowEmbedded : sql.plainEmbedded) : withRow ? sql.plainRow : sql.plain;
    const outcome = embedding
      ? ((await remember(sql.callNear, { prepare: true })) as Stored)
      : ((await remember(plain, { prepare: true, ...(inline?.vector ? {} : { unprepared: sql.call }) }, inline?.vector)) ??
        ((await remember(sql.call)) as Stored)); // (the call never answers `taken`)
    this.counted(outcome);
    if (this.ctx.recall?.mode === 'inline' && !outcome.duplicate && !(inline?.vector && outcome.stored)) {
      // Not embedded by the insert (the call wrote it, or the embedder failed): embedded now, or an EmbedderError.
      if (inline?.failure) throw inline.failure(outcome.id);
      await this.ctx.embedInline([outcome.id]);
      delete outcome.memory; // (now embedded: read again when asked)
    }
    return outcome;
  }

  /**
   * With recall.embed.mode inline, the embedding of a memory of an embedded
   * type, computed before its insert; an embedder that fails leaves the memory
   * to be stored without one, and the failure to be reported once it is.
   */
  private async inlineEmbedding(m: Parsed): Promise<{ vector?: number[]; failure?: (id: string) => EmbedderError } | undefined> {
    const recall = this.ctx.recall;
    if (recall?.mode !== 'inline' || !recall.types.includes(m.type)) return undefined;
    try {
      return { vector: (await this.ctx.embed([embeddingTextOf(m.content)]))[0] };
    } catch (error) {
      return { failure: (id) => notYetEmbedded([id], error) };
    }
  }

  /**
   * Store a memory inside a write the caller holds open, as remember() would
   * (deduplicated, or superseding a current fact): memory formation stores a
   * model's decisions and moves its watermark in one transaction. `embedding`
   * is the content's, for near-duplicate links when those are on.
   */
  async rememberIn(tx: Queryable, provider: string, input: RememberInput, embedding?: number[]): Promise<RememberOutcome> {
    const { m, json } = this.parsed(input);
    if (m.supersedes) {
      const id = m.id ?? newId();
      await this.supersedeIn(tx, provider, m as Parsed & { supersedes: string }, json, id);
      return { id, duplicate: false, nearDuplicateOf: null };
    }
    const write = this.insertion(m);
    const near = write.near && embedding ? embedding : undefined;
    const outcome = (await this.insertIn(
      tx,
      provider,
      near ? this.rememberSql.callNear : this.rememberSql.call,
      m,
      json,
      write,
      near,
    )) as RememberOutcome;
    this.counted(outcome);
    return outcome;
  }

  /** The input checked, and the JSON text of its content and metadata that the size checks measured (what the insert sends). */
  private parsed(input: RememberInput): { m: Parsed; json: RowJson } {
    const m = plainMemory(input) ?? parseInput(rememberInput, input, 'memory');
    checkJson(m.content, 'content');
    // metadata is a JSON object the shape already walked (jsonObject).
    return {
      m,
      json: {
        content: checkSize(m.content, 'content', this.ctx.limits.maxContentBytes),
        metadata: checkSize(m.metadata ?? {}, 'metadata', this.ctx.limits.maxContentBytes),
      },
    };
  }

  /**
   * How a new memory is inserted. A fact (a type in dedupe.types) whose
   * normalised content, type and user match a current memory of the tenant is
   * not stored again (dedupe.exact). Without an `id`, the id derives from that
   * identity, so the same fact written on two providers at once is one row once they replicate.
   */
  private insertion(m: Parsed): Insertion {
    const dedupe = this.ctx.dedupe.types.includes(m.type);
    const hash = dedupe && this.ctx.dedupe.exact ? contentHash(this.ctx.tenant, m.type, m.content) : null;
    const id = m.id ?? (hash ? idForKey(this.ctx.tenant, 'memory', `${m.type}\u0000${m.userId ?? ''}\u0000${hash}`) : newId());
    return { id, hash, derived: !m.id && hash !== null, near: dedupe && this.ctx.dedupe.near.enabled };
  }

  private async insertIn(
    tx: Queryable,
    provider: string,
    sql: string,
    m: Parsed,
    json: RowJson,
    write: Insertion,
    embedding: number[] | undefined,
    options?: QueryOptions,
    inlineVector?: number[],
  ): Promise<Stored | undefined> {
    const values = [
      ...this.rowValues(m, write.id, m.createdAt ?? new Date(), this.ctx.version(), provider, json),
      write.hash,
      write.derived,
    ];
    if (embedding)
      values.push(
        realArrayBinary(embedding),
        this.ctx.embedder.model,
        embedding.length,
        this.ctx.dedupe.near.window,
        1 - this.ctx.dedupe.near.threshold,
      );
    else if (inlineVector) values.push(realArrayBinary(inlineVector), this.ctx.embedder.model, inlineVector.length);
    const { rows } = await tx.query<RememberAnswer>(sql, values, options);
    const row = rows[0];
    if (row?.taken) return undefined;
    // The plain statement answers the memory too (its columns), the call does not.
    const memory = row?.id ? { memory: toMemory(row as unknown as Record<string, unknown>) } : {};
    if (row?.existing_id) return { id: row.existing_id, duplicate: true, nearDuplicateOf: null, ...memory };
    if (row?.stored_id) return { id: row.stored_id, duplicate: false, nearDuplicateOf: row.duplicate_of, stored: true, ...memory };
    // The id is taken by a current memory: the same fact (a derived id), or a retry of this very write.
    return { id: write.id, duplicate: write.derived, nearDuplicateOf: null };
  }

  private counted(outcome: RememberOutcome): void {
    if (outcome.duplicate) memoryDuplicatesTotal.inc({ kind: 'exact' });
    if (outcome.nearDuplicateOf) memoryDuplicatesTotal.inc({ kind: 'near' });
  }

  /** $1…$12 of both inserts: tenant, id, session, user, type, content, metadata, importance, created, expires, version, origin. */
  private rowValues(m: Parsed, id: string, createdAt: Date, version: string, provider: string, json: RowJson): unknown[] {
    return [
      this.ctx.tenant,
      id,
      m.sessionId ?? null,
      m.userId ?? null,
      m.type,
      json.content,
      json.metadata,
      m.importance ?? 0.5,
      createdAt,
      m.expiresAt ?? null,
      version,
      provider,
    ];
  }

  /**
   * A new fact that replaces a current one, in the caller's transaction: the
   * new memory is stored and the old one gets validTo (the new one's time) and
   * supersededBy. A retry of the same write (same id) is the same write.
   */
  private async supersedeIn(tx: Queryable, provider: string, m: Parsed & { supersedes: string }, json: RowJson, id: string): Promise<void> {
    if (id === m.supersedes) throw new ValidationError('a memory cannot supersede itself', { id });
    const at = m.createdAt ?? new Date();
    const t = this.ctx.table('memories');
    const { rows } = await tx.query<{ valid_to: Date | null; superseded_by: string | null }>(
      `SELECT valid_to, superseded_by FROM ${byKey(t, 'tenant_id = $1 AND id = $2', 'FOR UPDATE')} m WHERE deleted_at IS NULL`,
      [this.ctx.tenant, m.supersedes],
    );
    const old = rows[0];
    if (!old) throw new NotFoundError(`memory ${m.supersedes} (to supersede) does not exist`, { id: m.supersedes });
    if (old.superseded_by === id) return;
    if (old.valid_to)
      throw new ConflictError(
        `memory ${m.supersedes} was already superseded by ${old.superseded_by}: supersede that one (the current fact)`,
        {
          id: m.supersedes,
          supersededBy: old.superseded_by,
        },
      );
    const version = this.ctx.version();
    await tx.query(
      `INSERT INTO ${t} (tenant_id, id, session_id, user_id, memory_type, content, metadata, importance, created_at, expires_at,
                         version, origin, content_hash, supersedes)
       SELECT $1, $2, $3, coalesce($4::text, (SELECT s.user_id FROM ${this.ctx.table('sessions')} s WHERE s.tenant_id = $1 AND s.id = $3)),
              $5, $6, $7, $8, $9, $10, $11, $12, $13, $14
       ON CONFLICT (tenant_id, id) DO NOTHING`,
      [
        ...this.rowValues(m, id, at, version, provider, json),
        this.ctx.dedupe.types.includes(m.type) ? contentHash(this.ctx.tenant, m.type, m.content) : null,
        m.supersedes,
      ],
    );
    await tx.query(`UPDATE ${t} SET valid_to = $3, superseded_by = $4, version = $5, origin = $6 WHERE tenant_id = $1 AND id = $2`, [
      this.ctx.tenant,
      m.supersedes,
      at,
      id,
      version,
      provider,
    ]);
  }

  async get(id: string): Promise<Memory | null> {
    const memoryId = parseUuid(id, 'memory id');
    return this.ctx.read(
      'memory.get',
      async (tx) => {
        const { rows } = await tx.query(
          `SELECT ${COLUMNS} FROM ${byKey(this.ctx.table('memories'), 'tenant_id = $1 AND id = $2')} m
          WHERE deleted_at IS NULL AND (expires_at IS NULL OR expires_at > now())`,
          [this.ctx.tenant, memoryId],
        );
        return rows[0] ? toMemory(rows[0]) : null;
      },
      { single: true },
    );
  }

  /**
   * Recall by meaning: the memories best matching `query` within a scope
   * (user, agent, session), by full text, by vector, or both fused (the
   * default). Current facts only unless `includeSuperseded` or `asOf`; every
   * filter runs before the LIMIT. Each hit says why it matched (its rank in
   * each leg). When the embedder fails, the text leg answers alone, with
   * `degraded: 'embedder'`.
   */
  async search(query: string, options: MemorySearchOptions = {}): Promise<RecallOutcome<MemoryHit>> {
    const text = parseInput(searchQuery, query, 'search query');
    const o = parseInput(memorySearchSchema, options, 'search options');
    return this.recallSearch.search(
      'memory.search',
      {
        text,
        mode: o.mode,
        k: o.k,
        scope: o.scope,
        types: o.types ?? NON_MESSAGE_TYPES,
        asOf: o.asOf,
        includeSuperseded: o.includeSuperseded,
        minScore: o.minScore,
      },
      (tx, ids) => rowsById(this.ctx, tx, 'memories', MEMORY_VIEW, ids, (row) => ({ memory: toMemory(row) })),
    );
  }

  /**
   * Memories matching every given filter, newest first (or best full-text match
   * first with `text`). All filters run in SQL before the LIMIT.
   */
  async recall(filter: RecallFilter = {}): Promise<Memory[]> {
    const f = parseInput(recallFilter, filter, 'recall filter');
    return this.ctx.read(
      'memory.recall',
      async (tx) => {
        const params: unknown[] = [
          this.ctx.tenant,
          f.types ?? null,
          f.sessionId ?? null,
          f.userId ?? null,
          f.text ?? null,
          f.since ?? null,
          f.until ?? null,
          f.minImportance ?? null,
          f.limit,
        ];
        const from = this.ctx.from('memories', params, f.asOf);
        // Rows as they were have no stored search vector: it is computed as the generated column computes it.
        const search = f.asOf ? `jsonb_to_tsvector('english'::regconfig, content, '["string"]'::jsonb)` : 'search';
        const now = f.asOf ? `$${params.length}::timestamptz` : 'now()';
        // Current facts: not superseded (as of then: not yet superseded, and already written).
        const current = f.includeSuperseded
          ? ''
          : `AND (valid_to IS NULL OR valid_to > ${now})${f.asOf ? ` AND created_at <= ${now}` : ''}`;
        const { rows } = await tx.query(
          `SELECT ${COLUMNS},
                CASE WHEN $5::text IS NULL THEN NULL ELSE ts_rank(${search}, websearch_to_tsquery('english', $5)) END AS rank
           FROM ${from}
          WHERE tenant_id = $1 AND deleted_at IS NULL AND (expires_at IS NULL OR expires_at > ${now}) ${current}
            AND ($2::text[] IS NULL OR memory_type = ANY($2))
            AND ($3::uuid IS NULL OR session_id = $3)
            AND ($4::text IS NULL OR user_id = $4)
            AND ($5::text IS NULL OR ${search} @@ websearch_to_tsquery('english', $5))
            AND ($6::timestamptz IS NULL OR created_at >= $6)
            AND ($7::timestamptz IS NULL OR created_at < $7)
            AND ($8::real IS NULL OR importance >= $8)
          ORDER BY rank DESC NULLS LAST, created_at DESC, id DESC
          LIMIT $9`,
          params,
        );
        return rows.map(toMemory);
      },
      { single: true },
    );
  }

  /** Forget a memory: its content is erased and a tombstone replicates the deletion. */
  async forget(id: string): Promise<boolean> {
    const memoryId = parseUuid(id, 'memory id');
    return this.ctx.deleteRow('memory.forget', 'memories', { id: memoryId });
  }

  /** Merge this tenant's duplicate memories (see dedupeMemories); a dry run reports and changes nothing. */
  async dedupe(options: DedupeOptions = {}): Promise<DedupeReport> {
    return dedupeMemories(this.ctx, options);
  }

  /**
   * Expire this tenant's memories past their own expiresAt, through the
   * retention path (tombstones that replicate, content erased); returns how many.
   */
  async sweepExpired(): Promise<number> {
    const { types } = await new Retention(this.ctx).expire({ policies: {} });
    return types.reduce((n, t) => n + t.expired, 0);
  }
}

/** How remember inserts a new memory: its id, its content hash (facts), whether the id derives from it, and whether near-duplicates are looked for. */
interface Insertion {
  id: string;
  hash: string | null;
  derived: boolean;
  near: boolean;
}

/** What remember did, and the memory as stored when the statement answered it; `stored`: this statement inserted the row (with the embedding it was given). */
type Stored = RememberOutcome & { memory?: Memory; stored?: boolean };

export {
  type Memory,
  plainMemory,
  type RecallFilter,
  type RememberInput,
  type RememberOutcome,
  recallFilter,
  rememberInput,
} from './memory-model.js';

/** A memory found by search, and why it matched. */
export type MemoryHit = { memory: Memory } & RecallMatch;
