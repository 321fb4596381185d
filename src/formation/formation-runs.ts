/**
 * What memory formation's two kinds of run (extraction, summaries) share: a
 * session's state and its messages past a watermark, the provider's claims
 * (a lease while a process calls the model, a backoff after a failure), and
 * moving a watermark only from the value a run started at.
 */
import { MESSAGE_TYPES } from '../core/enums.js';
import { type AgentMemory, contentText, type MessageContent } from '../memory/index.js';
import { logger } from '../observability/logger.js';
import { formationCallsTotal } from '../observability/metrics.js';
import type { Provider, Queryable } from '../providers/index.js';
import type { FormationKind } from './formation-model.js';

export interface SessionState {
  userId: string | null;
  /** The watermark of this kind of run: the position of the last message it read (null: none yet). */
  watermark: string | null;
}

export interface SourceMessage {
  id: string;
  role: string;
  text: string;
  position: string;
}

/** The column of each kind's watermark on sessions (migration 0024). */
export const WATERMARK: Record<FormationKind, 'extracted_position' | 'summarized_position'> = {
  extraction: 'extracted_position',
  summary: 'summarized_position',
};

/** A failed session is tried again after 2^attempts × 10 seconds, at most an hour. */
const backoffSql = "least(power(2, c.attempts) * interval '10 seconds', interval '1 hour')";

export async function sessionState(memory: AgentMemory, sessionId: string, kind: FormationKind): Promise<SessionState | null> {
  const ctx = memory.storeContext;
  return ctx.read(
    'formation.session',
    async (tx) => {
      const { rows } = await tx.query<{ user_id: string | null; watermark: string | null }>(
        `SELECT user_id, ${WATERMARK[kind]}::text AS watermark FROM ${ctx.table('sessions')}
          WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL`,
        [ctx.tenant, sessionId],
      );
      const row = rows[0];
      return row ? { userId: row.user_id, watermark: row.watermark } : null;
    },
    { single: true },
  );
}

/** The session's live messages after `watermark`, oldest first, at most `limit`. */
export async function messagesAfter(
  memory: AgentMemory,
  sessionId: string,
  watermark: string | null,
  limit: number,
): Promise<SourceMessage[]> {
  const ctx = memory.storeContext;
  return ctx.read(
    'formation.messages',
    async (tx) => {
      const { rows } = await tx.query<{ id: string; memory_type: string; content: unknown; position: string }>(
        `SELECT id::text AS id, memory_type, content, position::text AS position FROM ${ctx.table('memories')}
          WHERE tenant_id = $1 AND session_id = $2 AND deleted_at IS NULL AND memory_type = ANY($3::text[])
            AND ($4::bigint IS NULL OR position > $4::bigint)
          ORDER BY position, id LIMIT $5`,
        [ctx.tenant, sessionId, MESSAGE_TYPES, watermark, limit],
      );
      return rows.map((r) => ({
        id: r.id,
        role: r.memory_type.slice('message_'.length),
        text: contentText(r.content as MessageContent),
        position: r.position,
      }));
    },
    { single: true },
  );
}

/**
 * Move the session's watermark from `from` to `to` in the caller's
 * transaction, with a new version (replicated with the session): false when
 * another run moved it first, and then nothing of this run may be written.
 */
export async function moveWatermark(
  memory: AgentMemory,
  tx: Queryable,
  provider: string,
  sessionId: string,
  kind: FormationKind,
  from: string | null,
  to: string,
): Promise<boolean> {
  const ctx = memory.storeContext;
  const column = WATERMARK[kind];
  const { rowCount } = await tx.query(
    `UPDATE ${ctx.table('sessions')} SET ${column} = $3::bigint, version = $4, origin = $5
      WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL AND ${column} IS NOT DISTINCT FROM $6::bigint`,
    [ctx.tenant, sessionId, to, ctx.version(), provider, from],
  );
  return rowCount === 1;
}

/**
 * The writer's claims on sessions being formed: one process calls the model
 * for a session's messages at a time (until its lease ends), and a session
 * whose run failed waits for its backoff before the background worker takes it again.
 */
export class FormationClaims {
  constructor(
    private readonly writer: () => Promise<Provider>,
    private readonly schema: string,
    private readonly leaseMs: number,
  ) {}

  /**
   * Run `fn` holding the session for a run of `kind`: undefined when another
   * process holds it (or, unless `force`, it waits for a backoff). After `fn`
   * the claim is released and the run counted (applied, or raced: another run
   * moved the watermark first); a failure is logged, counted towards the
   * session's backoff, and rethrown — nothing of the run was written.
   */
  async holding<T extends { status: string }>(
    run: { tenant: string; sessionId: string; kind: FormationKind; model: string; force: boolean },
    fn: () => Promise<T>,
  ): Promise<T | undefined> {
    const { tenant, sessionId, kind, model } = run;
    if (!(await this.take(tenant, sessionId, kind, run.force))) return undefined;
    let result: T;
    try {
      result = await fn();
    } catch (error) {
      logger().warn(
        { tenant, sessionId, model, err: (error as Error).message },
        `${kind} failed: nothing was written; the session is tried again after a backoff`,
      );
      await this.fail(tenant, sessionId, kind, (error as Error).message);
      throw error;
    }
    formationCallsTotal.inc({ kind, model, outcome: result.status === 'raced' ? 'raced' : 'applied' });
    await this.release(tenant, sessionId, kind);
    return result;
  }

  /** Take the session for a run; `force` (an explicit call) takes it past a backoff, never past another process's live lease. */
  private async take(tenant: string, sessionId: string, kind: FormationKind, force: boolean): Promise<boolean> {
    const provider = await this.writer();
    const { rows } = await provider.query(
      `INSERT INTO ${this.schema}.formation_claims AS c (tenant_id, session_id, kind, retry_after)
       VALUES ($1, $2, $3, now() + $4 * interval '1 millisecond')
       ON CONFLICT (tenant_id, session_id, kind) DO UPDATE SET retry_after = EXCLUDED.retry_after
        WHERE c.retry_after <= now() OR ($5 AND c.attempts > 0)
       RETURNING 1`,
      [tenant, sessionId, kind, this.leaseMs, force],
    );
    return rows.length === 1;
  }

  private async release(tenant: string, sessionId: string, kind: FormationKind): Promise<void> {
    const provider = await this.writer();
    await provider.query(`DELETE FROM ${this.schema}.formation_claims WHERE tenant_id = $1 AND session_id = $2 AND kind = $3`, [
      tenant,
      sessionId,
      kind,
    ]);
  }

  /** Record a failed run: the session waits for a backoff that grows with each failure. */
  private async fail(tenant: string, sessionId: string, kind: FormationKind, message: string): Promise<void> {
    const provider = await this.writer();
    await provider
      .query(
        `UPDATE ${this.schema}.formation_claims c
            SET attempts = c.attempts + 1, last_error = $4, retry_after = now() + ${backoffSql}
          WHERE c.tenant_id = $1 AND c.session_id = $2 AND c.kind = $3`,
        [tenant, sessionId, kind, message.slice(0, 500)],
      )
      .catch((error: unknown) => logger().warn({ err: (error as Error).message }, 'could not record a failed formation run'));
  }
}
