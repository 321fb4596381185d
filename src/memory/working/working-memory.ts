/**
 * Working memory: one document per scope (a user's, or a session's) that an
 * agent keeps in context and edits as it learns — a Markdown text, or a JSON
 * object shaped by a schema. It is a row of `memories` (type
 * `working_memory`, its id derived from the scope), so the change history,
 * as-of reads, backups, replication and erasure cover it as they cover every
 * memory. An update of an object is a JSON merge patch (RFC 7396) applied by
 * the server in the statement that writes it: concurrent updates from many
 * processes each apply to the one before, and none is lost.
 */
import { z } from 'zod';
import { idForKey } from '../../core/ids.js';
import { ConflictError, NotFoundError, ValidationError } from '../../errors/index.js';
import type { Queryable } from '../../providers/index.js';
import { byKey, type StoreContext } from '../context.js';
import { approximateTextTokens } from '../tokens.js';
import { identifier, parseInput, uuid } from '../validation.js';

/** A user's working memory (across their sessions), or one session's. */
export type WorkingMemoryScope = { userId: string; sessionId?: undefined } | { sessionId: string; userId?: undefined };

const scopeSchema = z.union([
  z.object({ userId: identifier, sessionId: z.undefined().optional() }).strict(),
  z.object({ sessionId: uuid, userId: z.undefined().optional() }).strict(),
]);

/** A JSON object to merge (null deletes a key), or a text that replaces a Markdown document. */
const patchSchema = z.union([z.string().max(1_000_000), z.record(z.string(), z.unknown())]);

export interface WorkingMemoryDocument {
  scope: WorkingMemoryScope;
  /** The document: a Markdown text or a JSON object (null when the scope has none yet). */
  content: string | Record<string, unknown> | null;
  /** Its size by the store's token count (≈ 4 characters a token). */
  tokens: number;
  updatedAt: Date | null;
}

export interface WorkingMemoryOptions {
  /** The most tokens a document may take (≈ 4 characters a token): an update past it is refused and changes nothing. */
  budgetTokens: number;
  /** What a Markdown scope's document starts as (shown before the first update). */
  template?: string | undefined;
}

export interface UpdateOptions {
  /** The shape the merged document must have (a zod schema): an update that breaks it is refused and changes nothing. */
  schema?: z.ZodType;
}

export class WorkingMemory {
  constructor(
    private readonly ctx: StoreContext,
    private readonly options: WorkingMemoryOptions,
  ) {}

  /** The scope's document (its template when it has none yet), as it is now or as it was `asOf`. */
  async get(scope: WorkingMemoryScope, options: { asOf?: Date } = {}): Promise<WorkingMemoryDocument> {
    const s = parseInput(scopeSchema, scope, 'working memory scope') as WorkingMemoryScope;
    const id = this.idOf(s);
    const row = await this.ctx.read(
      'workingMemory.get',
      async (tx) => {
        const params: unknown[] = [this.ctx.tenant, id];
        const from = this.ctx.from('memories', params, options.asOf, { column: 'id', value: '$2' });
        const { rows } = await tx.query<{
          content: WorkingMemoryDocument['content'];
          updated_at: Date | null;
          created_at: Date;
          tokens: number;
        }>(
          `SELECT content, updated_at, created_at, ${this.ctx.schema}.jsonb_tokens(content) AS tokens
             FROM ${byKey(from, 'tenant_id = $1 AND id = $2')} m WHERE deleted_at IS NULL`,
          params,
        );
        return rows[0];
      },
      { single: !options.asOf },
    );
    if (row) return { scope: s, content: row.content, tokens: Number(row.tokens), updatedAt: row.updated_at ?? row.created_at };
    const template = this.options.template ?? null;
    return { scope: s, content: template, tokens: template === null ? 0 : approximateTextTokens(template), updatedAt: null };
  }

  /**
   * Change the scope's document: an object is merged into it (a key set to
   * null is removed), a text replaces it. The merge happens in the server, so
   * concurrent updates lose nothing. Past the token budget, or not of
   * `schema`, the update is refused and the document stays as it was.
   */
  async update(
    scope: WorkingMemoryScope,
    patch: string | Record<string, unknown>,
    options: UpdateOptions = {},
  ): Promise<WorkingMemoryDocument> {
    const s = parseInput(scopeSchema, scope, 'working memory scope') as WorkingMemoryScope;
    const p = parseInput(patchSchema, patch, 'working memory update');
    const id = this.idOf(s);
    const m = this.ctx.schema;
    // An object whose values are neither null nor objects merges as a plain `||` (RFC 7396 asks nothing
    // more of it); a key to delete or an object to merge into goes through jsonb_merge_patch.
    const flat = isFlatPatch(p);
    const merge = (doc: string) =>
      flat
        ? `CASE WHEN jsonb_typeof(${doc}) = 'object' THEN ${doc} || $5::jsonb ELSE $5::jsonb END`
        : `${m}.jsonb_merge_patch(${doc}, $5::jsonb)`;
    // One statement: the update of an existing document locks its row, so the next update merges into
    // this one's result (with a version above the one it merged into: processes' clocks may tie, and
    // replication keeps the higher version); the first update inserts it. Its tokens are counted once, as
    // it is returned, by working_memory_tokens(), which raises past the budget: the statement is undone and
    // nothing is written (a schema is checked on the merged document inside a transaction a mismatch rolls back).
    const tokens = (content: string) => `${m}.working_memory_tokens(${content}, $8) AS tokens`;
    const sql = `WITH s AS (SELECT user_id FROM ${this.ctx.table('sessions')} WHERE tenant_id = $1 AND id = $3::uuid AND deleted_at IS NULL),
      upd AS (
        UPDATE ${this.ctx.table('memories')} m
           SET content = ${merge('CASE WHEN m.deleted_at IS NULL THEN m.content END')}, deleted_at = NULL, updated_at = now(),
               version = greatest($6::bigint, m.version + 1), origin = $7
         WHERE m.tenant_id = $1 AND m.id = $2
        RETURNING m.content, m.updated_at, ${tokens('m.content')}),
      ins AS (
        INSERT INTO ${this.ctx.table('memories')}
               (tenant_id, id, session_id, user_id, memory_type, content, metadata, importance, created_at, updated_at, version, origin)
        SELECT $1, $2, $3::uuid, coalesce($4::text, (SELECT user_id FROM s)), 'working_memory', ${merge('NULL::jsonb')},
               '{}'::jsonb, 1, now(), now(), $6, $7
         WHERE NOT EXISTS (SELECT FROM upd) AND ($3::uuid IS NULL OR EXISTS (SELECT FROM s))
        ON CONFLICT (tenant_id, id) DO NOTHING
        RETURNING content, updated_at, ${tokens('content')})
      SELECT content, updated_at, tokens FROM upd
      UNION ALL SELECT content, updated_at, tokens FROM ins`;
    type Row = { content: WorkingMemoryDocument['content']; updated_at: Date; tokens: number };
    const update = async (tx: Queryable, provider: string): Promise<Row | undefined> =>
      (
        await tx.query<Row>(
          sql,
          [
            this.ctx.tenant,
            id,
            s.sessionId ?? null,
            s.userId ?? null,
            JSON.stringify(p),
            this.ctx.version(),
            provider,
            this.options.budgetTokens,
          ],
          { prepare: true },
        )
      ).rows[0];
    const once = () =>
      options.schema
        ? this.ctx.write(
            'workingMemory.update',
            async (tx, { provider }) => {
              const updated = await update(tx, provider);
              const checked = updated ? options.schema?.safeParse(updated.content) : undefined;
              if (checked && !checked.success)
                throw new ValidationError(
                  `working memory would not match its schema: ${checked.error.issues.map((i) => `${i.path.join('.') || '(document)'}: ${i.message}`).join('; ')}`,
                );
              return updated;
            },
            { ids: { id } },
          )
        : this.ctx.write('workingMemory.update', (tx, { provider }) => update(tx, provider), { single: true, ids: { id } });
    for (let attempt = 0; ; attempt++) {
      let row: Row | undefined;
      try {
        row = await once();
      } catch (error) {
        throw overBudget(error, this.options.budgetTokens) ?? error;
      }
      if (row) return { scope: s, content: row.content, tokens: Number(row.tokens), updatedAt: row.updated_at };
      // Nothing written: no such session, or another process's first update inserted the document
      // between this statement's look and its insert — then this update merges into it.
      if (s.sessionId && !(await this.sessionExists(s.sessionId)))
        throw new NotFoundError(`session ${s.sessionId} does not exist`, { sessionId: s.sessionId });
      if (attempt >= 2) throw new ConflictError('working memory changed under three updates in a row; try again', { scope: s });
    }
  }

  private sessionExists(sessionId: string): Promise<boolean> {
    return this.ctx.read(
      'workingMemory.update',
      async (tx) =>
        (
          await tx.query(`SELECT 1 FROM ${this.ctx.table('sessions')} WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL`, [
            this.ctx.tenant,
            sessionId,
          ])
        ).rows.length > 0,
      { single: true },
    );
  }

  /** Remove the scope's document (a tombstone that replicates; the history keeps what it was). */
  async clear(scope: WorkingMemoryScope): Promise<boolean> {
    const s = parseInput(scopeSchema, scope, 'working memory scope') as WorkingMemoryScope;
    return this.ctx.deleteRow('workingMemory.clear', 'memories', { id: this.idOf(s) });
  }

  /** The scope's row id: the same on every provider, so two processes' first updates are one row. */
  private idOf(scope: WorkingMemoryScope): string {
    return idForKey(this.ctx.tenant, 'working-memory', scope.sessionId ? `session\u0000${scope.sessionId}` : `user\u0000${scope.userId}`);
  }
}

/** A working-memory document as prompt text (Markdown as is; an object as indented JSON). */
export function workingMemoryText(document: WorkingMemoryDocument): string {
  const { content } = document;
  if (content === null) return '';
  return typeof content === 'string' ? content : JSON.stringify(content, null, 2);
}

/** A patch `||` merges exactly as RFC 7396 does: an object of values that are neither null (a delete) nor objects (merged into). */
function isFlatPatch(patch: string | Record<string, unknown>): boolean {
  return typeof patch === 'object' && Object.values(patch).every((v) => v !== null && (typeof v !== 'object' || Array.isArray(v)));
}

/** The server's refusal of a document past the budget (working_memory_tokens, migration 0029), as a ValidationError. */
function overBudget(error: unknown, budgetTokens: number): ValidationError | undefined {
  const match = /working memory would take (\d+) tokens/.exec((error as Error)?.message ?? '');
  if (!match) return undefined;
  return new ValidationError(
    `working memory would take ${match[1]} tokens, over its budget of ${budgetTokens} (workingMemory.budgetTokens): remove something first (set a key to null)`,
    { tokens: Number(match[1]), budgetTokens },
  );
}
