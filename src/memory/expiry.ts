import { z } from 'zod';
import type { AgentmemConfig } from '../config/index.js';
import { MEMORY_TYPES, type MemoryType } from '../core/enums.js';
import { tombstoneSet } from '../core/tables.js';
import { ValidationError } from '../errors/index.js';
import { retentionExpiredTotal } from '../observability/metrics.js';
import type { StoreContext } from './context.js';
import { Settings } from './settings.js';
import { identifier, parseInput, parseUuid } from './validation.js';

export type RetentionPolicies = AgentmemConfig['retention']['types'];
export type RetentionMode = 'soft' | 'hard';

/** What a legal hold covers: the whole tenant, one user, or one session. */
export type HoldSubject = { tenant: true } | { userId: string } | { sessionId: string };

export interface LegalHold {
  /** `tenant`, `user:<id>` or `session:<id>`. */
  key: string;
  reason: string | null;
  since: string;
  by: string | null;
}

export interface ExpiredCount {
  type: MemoryType;
  mode: RetentionMode;
  /** The type's TTL (null: only memories past their own expiresAt). */
  ttlDays: number | null;
  /** Expired now (or that would be, in a dry run). */
  expired: number;
  /** Past their time but kept: under a legal hold. */
  held: number;
}

export interface TenantExpiry {
  tenant: string;
  types: ExpiredCount[];
  /** Ids of memories expired hard: their change history goes too (the caller removes it from the other providers). */
  hardIds: string[];
}

/** Settings category of legal holds: replicated, backed up and in the history like any setting. */
export const HOLD_CATEGORY = 'legal_hold';

const holdKey = (subject: HoldSubject): string =>
  'tenant' in subject
    ? 'tenant'
    : 'userId' in subject
      ? `user:${parseInput(identifier, subject.userId, 'user id')}`
      : `session:${parseUuid(subject.sessionId, 'session id')}`;

const expireOptions = z
  .object({
    policies: z.record(z.string(), z.object({ ttlDays: z.number().gt(0), mode: z.enum(['soft', 'hard']) })),
    dryRun: z.boolean().default(false),
    batchSize: z.number().int().min(1).max(100_000).default(2000),
    now: z.date().optional(),
  })
  .strict();

/**
 * Retention for one tenant: memories past their type's TTL (or their own
 * expiresAt) are deleted through the same path as forget() — a tombstone
 * with a fresh version and the content erased from the row, which
 * replicates — in short batches (one statement each, rows another
 * transaction holds are skipped), so writes keep flowing.
 * Soft keeps the content in the change history for its window; hard erases
 * the content from the row and removes its history. A legal hold on the
 * tenant, the memory's user or its session suspends both.
 */
export class Retention {
  /** Holds are settings (they replicate, are backed up and have a history); read uncached. */
  private readonly settings: Settings;

  constructor(private readonly ctx: StoreContext) {
    this.settings = new Settings(ctx, 0);
  }

  async hold(subject: HoldSubject, reason?: string): Promise<LegalHold> {
    const key = holdKey(subject);
    const value = { reason: reason ?? null, since: new Date().toISOString(), by: this.ctx.actor ?? null };
    await this.settings.set(HOLD_CATEGORY, key, value, 'legal hold: retention and erasure suspended');
    return { key, ...value };
  }

  /** Lift a hold; false when there was none. */
  release(subject: HoldSubject): Promise<boolean> {
    return this.settings.delete(HOLD_CATEGORY, holdKey(subject));
  }

  async holds(): Promise<LegalHold[]> {
    return (await this.settings.list(HOLD_CATEGORY)).map((h) => {
      const value = (h.value ?? {}) as { reason?: string | null; since?: string; by?: string | null };
      return { key: h.key, reason: value.reason ?? null, since: value.since ?? '', by: value.by ?? null };
    });
  }

  /**
   * Expire what the policies say is past its time (and every memory past its
   * own expiresAt: hard unless its type's policy says soft). Counts per type.
   */
  async expire(
    options: z.input<typeof expireOptions>,
    /** After each batch: how many of the type's due memories are expired so far. */
    onProgress?: (type: MemoryType, done: number, total: number) => void,
  ): Promise<TenantExpiry> {
    const o = parseInput(expireOptions, options, 'retention options');
    for (const type of Object.keys(o.policies))
      if (!(MEMORY_TYPES as readonly string[]).includes(type)) throw new ValidationError(`retention: unknown memory type ${type}`);
    const now = o.now ?? new Date();
    const result: TenantExpiry = { tenant: this.ctx.tenant, types: [], hardIds: [] };
    for (const type of MEMORY_TYPES) {
      const policy = o.policies[type];
      const cutoff = policy ? new Date(now.getTime() - policy.ttlDays * 86_400_000) : null;
      const mode: RetentionMode = policy?.mode ?? 'hard';
      const count: ExpiredCount = { type, mode, ttlDays: policy?.ttlDays ?? null, expired: 0, held: 0 };
      const due = `m.tenant_id = $1 AND m.memory_type = $2 AND m.deleted_at IS NULL
        AND ((m.expires_at IS NOT NULL AND m.expires_at <= $3) OR ($4::timestamptz IS NOT NULL AND m.created_at <= $4))`;
      const held = `EXISTS (SELECT 1 FROM ${this.ctx.table('settings')} h WHERE h.tenant_id = $1 AND h.category = '${HOLD_CATEGORY}'
        AND h.deleted_at IS NULL AND (h.key = 'tenant' OR h.key = 'user:' || m.user_id OR h.key = 'session:' || m.session_id::text))`;
      const counts = await this.ctx.read(
        'retention.count',
        async (tx) => {
          const { rows } = await tx.query<{ due: string; held: string }>(
            `SELECT count(*) FILTER (WHERE NOT ${held})::text AS due, count(*) FILTER (WHERE ${held})::text AS held
               FROM ${this.ctx.table('memories')} m WHERE ${due}`,
            [this.ctx.tenant, type, now, cutoff],
          );
          return { due: Number(rows[0]?.due ?? 0), held: Number(rows[0]?.held ?? 0) };
        },
        { single: true },
      );
      count.held = counts.held;
      if (o.dryRun || counts.due === 0) {
        count.expired = o.dryRun ? counts.due : 0;
      } else {
        for (;;) {
          const ids = await this.expireBatch(type, mode, held, now, cutoff, o.batchSize);
          count.expired += ids.length;
          onProgress?.(type, Math.min(count.expired, counts.due), counts.due);
          if (mode === 'hard') result.hardIds.push(...ids);
          if (ids.length === 0) break;
        }
        retentionExpiredTotal.inc({ type, mode }, count.expired);
      }
      if (count.expired || count.held || policy) result.types.push(count);
    }
    return result;
  }

  /** One batch: a tombstone for each (hard: content erased and history removed), in one short transaction. */
  private expireBatch(
    type: MemoryType,
    mode: RetentionMode,
    held: string,
    now: Date,
    cutoff: Date | null,
    batchSize: number,
  ): Promise<string[]> {
    const t = this.ctx.table('memories');
    return this.ctx.write('retention.expire', async (tx, { provider }) => {
      // Past the TTL and past their own expiry, each by its index (live rows of the type by age;
      // rows with an expiry by time), so a batch never walks what earlier batches expired.
      const { rows } = await tx.query<{ id: string }>(
        `WITH doomed AS (
           SELECT m.id FROM ${t} m
            WHERE m.tenant_id = $1 AND m.deleted_at IS NULL AND m.id IN (
              (SELECT m.id FROM ${t} m WHERE m.tenant_id = $1 AND m.memory_type = $2 AND m.deleted_at IS NULL
                 AND m.created_at <= $4::timestamptz AND NOT ${held} LIMIT $5)
              UNION ALL
              (SELECT m.id FROM ${t} m WHERE m.tenant_id = $1 AND m.memory_type = $2 AND m.deleted_at IS NULL
                 AND m.expires_at <= $3 AND NOT ${held} LIMIT $5))
            LIMIT $5 FOR UPDATE SKIP LOCKED
         )
         UPDATE ${t} t SET ${tombstoneSet('memories', '$6', '$7')}
           FROM doomed WHERE t.tenant_id = $1 AND t.id = doomed.id
         RETURNING t.id::text AS id`,
        [this.ctx.tenant, type, now, cutoff, batchSize, this.ctx.version(), provider],
      );
      const ids = rows.map((r) => r.id);
      // Hard: the content must not outlive the row in the history (this write's own delete record included).
      if (mode === 'hard' && ids.length)
        await tx.query(
          `DELETE FROM ${this.ctx.schema}.change_history WHERE tenant_id = $1 AND table_name = 'memories' AND record_key = ANY($2::text[])`,
          [this.ctx.tenant, ids],
        );
      return ids;
    });
  }
}
