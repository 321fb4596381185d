import { z } from 'zod';
import { MEMORY_TYPES, type MemoryType } from '../core/enums.js';
import { newId } from '../core/ids.js';
import { fromRow, type View, viewColumns } from '../core/tables.js';
import type { StoreContext } from './context.js';
import { checkJson, checkSize, cleanText, identifier, jsonObject, parseInput, timestamp, uuid } from './validation.js';

export interface Memory {
  id: string;
  type: MemoryType;
  content: unknown;
  metadata: Record<string, unknown>;
  sessionId: string | null;
  userId: string | null;
  importance: number;
  createdAt: Date;
  expiresAt: Date | null;
  /** Full-text rank when recalled by `text`. */
  rank?: number;
}

export const rememberInput = z
  .object({
    id: uuid.optional(),
    type: z.enum(MEMORY_TYPES),
    content: z.unknown().refine((v) => v !== undefined, 'is required'),
    metadata: jsonObject.optional(),
    sessionId: uuid.optional(),
    userId: identifier.optional(),
    importance: z.number().min(0).max(1).optional(),
    createdAt: timestamp.optional(),
    expiresAt: timestamp.optional(),
  })
  .strict();
export type RememberInput = z.input<typeof rememberInput>;

export const recallFilter = z
  .object({
    types: z.array(z.enum(MEMORY_TYPES)).min(1).optional(),
    sessionId: uuid.optional(),
    userId: identifier.optional(),
    text: cleanText(1000).optional(),
    since: timestamp.optional(),
    until: timestamp.optional(),
    minImportance: z.number().min(0).max(1).optional(),
    limit: z.number().int().min(1).max(10_000).default(20),
    /** The memories as they were at this time (from the change history). */
    asOf: timestamp.optional(),
  })
  .strict();
export type RecallFilter = z.input<typeof recallFilter>;

/** How the memory API reads a typed memory (the registry's types convert each value). */
const MEMORY_VIEW: View = {
  table: 'memories',
  fields: {
    id: 'id',
    type: 'memory_type',
    content: 'content',
    metadata: 'metadata',
    sessionId: 'session_id',
    userId: 'user_id',
    importance: 'importance',
    createdAt: 'created_at',
    expiresAt: 'expires_at',
  },
  absent: 'null',
  defaults: { metadata: {} },
};
const COLUMNS = viewColumns(MEMORY_VIEW);

function toMemory(row: Record<string, unknown>): Memory {
  return { ...(fromRow(MEMORY_VIEW, row) as unknown as Memory), ...(row.rank === undefined ? {} : { rank: Number(row.rank) }) };
}

/** Typed memories: decisions, actions, issues, context, logs … with retention. */
export class Memories {
  constructor(private readonly ctx: StoreContext) {}

  /** Store one memory; returns its id. Retrying with the same `id` stores it once. */
  async remember(input: RememberInput): Promise<string> {
    const m = parseInput(rememberInput, input, 'memory');
    checkJson(m.content, 'content');
    checkJson(m.metadata ?? {}, 'metadata');
    checkSize(m.content, 'content', this.ctx.limits.maxContentBytes);
    checkSize(m.metadata ?? {}, 'metadata', this.ctx.limits.maxContentBytes);
    const id = m.id ?? newId();
    await this.ctx.write(
      'memory.remember',
      async (tx, { provider }) => {
        await tx.query(
          `INSERT INTO ${this.ctx.table('memories')}
           (tenant_id, id, session_id, user_id, memory_type, content, metadata, importance, created_at, expires_at, version, origin)
         SELECT $1, $2, $3, coalesce($4, s.user_id), $5, $6, $7, $8, $9, $10, $11, $12
           FROM (SELECT 1) one
           LEFT JOIN ${this.ctx.table('sessions')} s ON s.tenant_id = $1 AND s.id = $3
         ON CONFLICT (tenant_id, id) DO NOTHING`,
          [
            this.ctx.tenant,
            id,
            m.sessionId ?? null,
            m.userId ?? null,
            m.type,
            JSON.stringify(m.content),
            JSON.stringify(m.metadata ?? {}),
            m.importance ?? 0.5,
            m.createdAt ?? new Date(),
            m.expiresAt ?? null,
            this.ctx.version(),
            provider,
          ],
        );
      },
      { single: true, ids: { id } },
    );
    return id;
  }

  async get(id: string): Promise<Memory | null> {
    const memoryId = parseInput(uuid, id, 'memory id');
    return this.ctx.read(
      'memory.get',
      async (tx) => {
        const { rows } = await tx.query(
          `SELECT ${COLUMNS} FROM ${this.ctx.table('memories')}
          WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL AND (expires_at IS NULL OR expires_at > now())`,
          [this.ctx.tenant, memoryId],
        );
        return rows[0] ? toMemory(rows[0]) : null;
      },
      { single: true },
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
        const { rows } = await tx.query(
          `SELECT ${COLUMNS},
                CASE WHEN $5::text IS NULL THEN NULL ELSE ts_rank(${search}, websearch_to_tsquery('english', $5)) END AS rank
           FROM ${from}
          WHERE tenant_id = $1 AND deleted_at IS NULL AND (expires_at IS NULL OR expires_at > ${now})
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
    const memoryId = parseInput(uuid, id, 'memory id');
    return this.ctx.write(
      'memory.forget',
      async (tx, { provider }) => {
        const { rowCount } = await tx.query(
          `UPDATE ${this.ctx.table('memories')}
            SET deleted_at = now(), content = 'null'::jsonb, metadata = '{}'::jsonb, embedding = NULL, version = $3, origin = $4
          WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL`,
          [this.ctx.tenant, memoryId, this.ctx.version(), provider],
        );
        return rowCount > 0;
      },
      { single: true },
    );
  }

  /**
   * Purge expired memories of this tenant. Every provider sweeps its own copy
   * (expires_at replicates with the row), so nothing needs to be tombstoned.
   */
  async sweepExpired(): Promise<number> {
    return this.ctx.write(
      'memory.sweepExpired',
      async (tx) => {
        const { rowCount } = await tx.query(
          `DELETE FROM ${this.ctx.table('memories')} WHERE tenant_id = $1 AND expires_at IS NOT NULL AND expires_at <= now()`,
          [this.ctx.tenant],
        );
        return rowCount;
      },
      { single: true },
    );
  }
}
