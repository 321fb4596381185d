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
import { NotFoundError, ValidationError } from '../../errors/index.js';
import type { StoreContext } from '../context.js';
import { approximateTextTokens } from '../context-assembly.js';
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
        const { rows } = await tx.query<{ content: unknown; updated_at: Date | null; created_at: Date }>(
          `SELECT content, updated_at, created_at FROM ${from} WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL`,
          params,
        );
        return rows[0];
      },
      { single: !options.asOf },
    );
    const content = (row?.content as WorkingMemoryDocument['content'] | undefined) ?? this.options.template ?? null;
    return this.document(s, content, row ? (row.updated_at ?? row.created_at) : null);
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
    const t = this.ctx.table('memories');
    return this.ctx.write(
      'workingMemory.update',
      async (tx, { provider }) => {
        if (s.sessionId) {
          const { rows } = await tx.query(
            `SELECT 1 FROM ${this.ctx.table('sessions')} WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL`,
            [this.ctx.tenant, s.sessionId],
          );
          if (!rows.length) throw new NotFoundError(`session ${s.sessionId} does not exist`, { sessionId: s.sessionId });
        }
        const version = this.ctx.version();
        // The row is locked by the upsert: the next update merges into this one's result.
        const { rows } = await tx.query<{ content: WorkingMemoryDocument['content']; updated_at: Date }>(
          `INSERT INTO ${t} AS m (tenant_id, id, session_id, user_id, memory_type, content, metadata, importance, created_at, updated_at,
                                  version, origin)
           SELECT $1, $2, $3::uuid,
                  coalesce($4::text, (SELECT s.user_id FROM ${this.ctx.table('sessions')} s WHERE s.tenant_id = $1 AND s.id = $3::uuid)),
                  'working_memory', ${this.ctx.schema}.jsonb_merge_patch(NULL, $5::jsonb), '{}'::jsonb, 1, now(), now(), $6, $7
           ON CONFLICT (tenant_id, id) DO UPDATE
              SET content = ${this.ctx.schema}.jsonb_merge_patch(CASE WHEN m.deleted_at IS NULL THEN m.content END, $5::jsonb),
                  deleted_at = NULL, updated_at = now(), version = $6, origin = $7
           RETURNING m.content, m.updated_at`,
          [this.ctx.tenant, id, s.sessionId ?? null, s.userId ?? null, JSON.stringify(p), version, provider],
        );
        const row = rows[0] as { content: WorkingMemoryDocument['content']; updated_at: Date };
        const document = this.document(s, row.content, row.updated_at);
        // Checked on the merged document, inside the transaction: a refused update rolls back whole.
        if (document.tokens > this.options.budgetTokens)
          throw new ValidationError(
            `working memory would take ${document.tokens} tokens, over its budget of ${this.options.budgetTokens} (workingMemory.budgetTokens): remove something first (set a key to null)`,
            { tokens: document.tokens, budgetTokens: this.options.budgetTokens },
          );
        if (options.schema) {
          const checked = options.schema.safeParse(row.content);
          if (!checked.success)
            throw new ValidationError(
              `working memory would not match its schema: ${checked.error.issues.map((i) => `${i.path.join('.') || '(document)'}: ${i.message}`).join('; ')}`,
            );
        }
        return document;
      },
      { ids: { id } },
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

  private document(scope: WorkingMemoryScope, content: WorkingMemoryDocument['content'], updatedAt: Date | null): WorkingMemoryDocument {
    const text = content === null ? '' : typeof content === 'string' ? content : JSON.stringify(content);
    return { scope, content, tokens: approximateTextTokens(text), updatedAt };
  }
}

/** A working-memory document as prompt text (Markdown as is; an object as indented JSON). */
export function workingMemoryText(document: WorkingMemoryDocument): string {
  const { content } = document;
  if (content === null) return '';
  return typeof content === 'string' ? content : JSON.stringify(content, null, 2);
}
