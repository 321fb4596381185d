/**
 * Checkpoints of agent graphs (LangGraph's checkpointer: each thread's state,
 * step by step, and the writes of each step's tasks), stored as the caller's
 * serializer made them. A thread is a session (the session whose external id
 * is the thread id), so its checkpoints are erased with the session or its
 * user; they replicate, are backed up and fail over like every record.
 * agentmem/langgraph's AgentmemSaver is the LangGraph face of this.
 */
import { tombstoneSet } from '../../core/tables.js';
import type { StoreContext } from '../context.js';

/** A value as a serializer made it: its type, and its bytes as text (UTF-8 for "json", else base64). */
export interface SerializedValue {
  type: string;
  data: string;
}

export interface CheckpointKey {
  threadId: string;
  checkpointNs: string;
  checkpointId: string;
}

export interface StoredCheckpoint extends CheckpointKey {
  parentCheckpointId: string | null;
  checkpoint: SerializedValue;
  /** The metadata as JSON (what list filters compare). */
  metadata: Record<string, unknown>;
  writes: StoredWrite[];
  /** The channel values the checkpoint names, when they were read with it (a checkpoint stored as JSON). */
  blobs?: StoredBlob[];
}

export interface StoredWrite {
  taskId: string;
  idx: number;
  channel: string;
  value: SerializedValue;
  taskPath: string;
}

/** A channel's value at a version, as stored with the checkpoint that changed it (null: the channel was empty). */
export interface StoredBlob {
  channel: string;
  version: string;
  value: SerializedValue | null;
}

export interface BlobKey {
  threadId: string;
  checkpointNs: string;
  channel: string;
  version: string;
}

/** The key of a channel value in the map blobs() answers. */
export const blobKey = (k: BlobKey): string => JSON.stringify([k.threadId, k.checkpointNs, k.channel, k.version]);

/** What a checkpoint retention run removed (or, in a dry run, would). */
export interface PrunedCheckpoints {
  checkpoints: number;
  writes: number;
  blobs: number;
}

export interface CheckpointListQuery {
  threadId?: string | undefined;
  checkpointNs?: string | undefined;
  checkpointId?: string | undefined;
  /** Only checkpoints whose id sorts before this one. */
  before?: string | undefined;
  /** Metadata keys and the JSON values they must equal. */
  filter?: Record<string, unknown> | undefined;
  limit?: number | undefined;
}

type Row = {
  thread_id: string;
  checkpoint_ns: string;
  checkpoint_id: string;
  parent_checkpoint_id: string | null;
  checkpoint_type: string;
  checkpoint: string;
  metadata: Record<string, unknown>;
};

export class Checkpoints {
  constructor(private readonly ctx: StoreContext) {}

  /**
   * Store a checkpoint of the thread's session (the same id again replaces
   * it), and the values of the channels it changed, each once per version
   * (null: the channel is empty at that version).
   */
  async put(
    sessionId: string,
    key: CheckpointKey,
    parentCheckpointId: string | null,
    checkpoint: SerializedValue,
    metadata: Record<string, unknown>,
    blobs: StoredBlob[] = [],
  ): Promise<void> {
    // One statement (the values, then the checkpoint): atomic, and one round trip.
    await this.ctx.write(
      'checkpoint.put',
      (tx, { provider }) =>
        tx.query(
          `WITH values AS (
             INSERT INTO ${this.ctx.table('checkpoint_blobs')} AS b
                    (tenant_id, thread_id, checkpoint_ns, channel, channel_version, session_id, value_type, value, created_at, version, origin)
             SELECT $1, $2, $3, u.channel, u.channel_version, $5, u.value_type, u.value, now(), $10, $11
               FROM unnest($12::text[], $13::text[], $14::text[], $15::text[]) AS u(channel, channel_version, value_type, value)
             ON CONFLICT (tenant_id, thread_id, checkpoint_ns, channel, channel_version) DO UPDATE
                SET value_type = EXCLUDED.value_type, value = EXCLUDED.value, deleted_at = NULL, version = EXCLUDED.version, origin = EXCLUDED.origin
              WHERE b.deleted_at IS NOT NULL)
           INSERT INTO ${this.ctx.table('checkpoints')} AS c
                  (tenant_id, thread_id, checkpoint_ns, checkpoint_id, session_id, parent_checkpoint_id, checkpoint_type, checkpoint,
                   metadata, created_at, version, origin)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, now(), $10, $11)
           ON CONFLICT (tenant_id, thread_id, checkpoint_ns, checkpoint_id) DO UPDATE
              SET parent_checkpoint_id = EXCLUDED.parent_checkpoint_id, checkpoint_type = EXCLUDED.checkpoint_type,
                  checkpoint = EXCLUDED.checkpoint, metadata = EXCLUDED.metadata, deleted_at = NULL,
                  version = EXCLUDED.version, origin = EXCLUDED.origin`,
          [
            this.ctx.tenant,
            key.threadId,
            key.checkpointNs,
            key.checkpointId,
            sessionId,
            parentCheckpointId,
            checkpoint.type,
            checkpoint.data,
            JSON.stringify(metadata),
            this.ctx.version(),
            provider,
            blobs.map((b) => b.channel),
            blobs.map((b) => b.version),
            blobs.map((b) => b.value?.type ?? 'empty'),
            blobs.map((b) => b.value?.data ?? null),
          ],
          // One text for every put: prepared once per connection (where the connection is its own session).
          { prepare: true },
        ),
      { single: true },
    );
  }

  /** Channel values by thread, namespace, channel and version (what a checkpoint's channel versions name). */
  async blobs(wanted: BlobKey[]): Promise<Map<string, SerializedValue | null>> {
    const out = new Map<string, SerializedValue | null>();
    if (!wanted.length) return out;
    return this.ctx.read(
      'checkpoint.blobs',
      async (tx) => {
        const { rows } = await tx.query<{
          thread_id: string;
          checkpoint_ns: string;
          channel: string;
          channel_version: string;
          value_type: string;
          value: string | null;
        }>(
          `SELECT b.thread_id, b.checkpoint_ns, b.channel, b.channel_version, b.value_type, b.value
             FROM unnest($2::text[], $3::text[], $4::text[], $5::text[]) AS k(thread_id, checkpoint_ns, channel, channel_version)
             JOIN ${this.ctx.table('checkpoint_blobs')} b
               ON b.tenant_id = $1 AND b.thread_id = k.thread_id AND b.checkpoint_ns = k.checkpoint_ns
              AND b.channel = k.channel AND b.channel_version = k.channel_version
            WHERE b.deleted_at IS NULL`,
          [
            this.ctx.tenant,
            wanted.map((w) => w.threadId),
            wanted.map((w) => w.checkpointNs),
            wanted.map((w) => w.channel),
            wanted.map((w) => w.version),
          ],
        );
        for (const r of rows)
          out.set(
            blobKey({ threadId: r.thread_id, checkpointNs: r.checkpoint_ns, channel: r.channel, version: r.channel_version }),
            r.value_type === 'empty' || r.value === null ? null : { type: r.value_type, data: r.value },
          );
        return out;
      },
      { single: true },
    );
  }

  /**
   * Store a task's writes for a checkpoint. A write at an index ≥ 0 that is
   * already stored stays as it was (a task's retry writes the same); a
   * special write (index < 0: an error, an interrupt) replaces the one before.
   */
  async putWrites(sessionId: string, key: CheckpointKey, writes: StoredWrite[]): Promise<void> {
    if (!writes.length) return;
    await this.ctx.write(
      'checkpoint.putWrites',
      (tx, { provider }) =>
        tx.query(
          `INSERT INTO ${this.ctx.table('checkpoint_writes')} AS w
                  (tenant_id, thread_id, checkpoint_ns, checkpoint_id, task_id, idx, session_id, channel, value_type, value, task_path,
                   created_at, version, origin)
           SELECT $1, $2, $3, $4, u.task_id, u.idx, $5, u.channel, u.value_type, u.value, u.task_path, now(), $11, $12
             FROM unnest($6::text[], $7::int[], $8::text[], $9::text[], $10::text[], $13::text[]) AS u(task_id, idx, channel, value_type, value, task_path)
           ON CONFLICT (tenant_id, thread_id, checkpoint_ns, checkpoint_id, task_id, idx) DO UPDATE
              SET channel = EXCLUDED.channel, value_type = EXCLUDED.value_type, value = EXCLUDED.value, task_path = EXCLUDED.task_path,
                  deleted_at = NULL, version = EXCLUDED.version, origin = EXCLUDED.origin
            WHERE w.idx < 0 OR w.deleted_at IS NOT NULL`,
          [
            this.ctx.tenant,
            key.threadId,
            key.checkpointNs,
            key.checkpointId,
            sessionId,
            writes.map((w) => w.taskId),
            writes.map((w) => w.idx),
            writes.map((w) => w.channel),
            writes.map((w) => w.value.type),
            writes.map((w) => w.value.data),
            this.ctx.version(),
            provider,
            writes.map((w) => w.taskPath),
          ],
          { prepare: true },
        ),
      { single: true },
    );
  }

  /** A checkpoint with its writes: the one named, or the thread's newest in the namespace; null when there is none. */
  async get(threadId: string, checkpointNs: string, checkpointId?: string): Promise<StoredCheckpoint | null> {
    const [found] = await this.list({ threadId, checkpointNs, checkpointId, limit: 1 });
    return found ?? null;
  }

  /** Checkpoints matching every condition given, newest first in each thread and namespace, with their writes. */
  async list(query: CheckpointListQuery): Promise<StoredCheckpoint[]> {
    if (query.limit !== undefined && query.limit <= 0) return [];
    return this.ctx.read(
      'checkpoint.list',
      async (tx) => {
        const params: unknown[] = [this.ctx.tenant];
        const add = (value: unknown) => {
          params.push(value);
          return `$${params.length}`;
        };
        const where = ['c.tenant_id = $1', 'c.deleted_at IS NULL'];
        if (query.threadId !== undefined) where.push(`c.thread_id = ${add(query.threadId)}`);
        if (query.checkpointNs !== undefined) where.push(`c.checkpoint_ns = ${add(query.checkpointNs)}`);
        if (query.checkpointId) where.push(`c.checkpoint_id = ${add(query.checkpointId)}`);
        if (query.before) where.push(`c.checkpoint_id < ${add(query.before)}`);
        for (const [name, value] of Object.entries(query.filter ?? {}))
          where.push(`c.metadata -> ${add(name)} = ${add(JSON.stringify(value ?? null))}::jsonb`);
        const limit = query.limit === undefined ? '' : `LIMIT ${add(query.limit)}`;
        // One statement: each checkpoint with its writes and, when it is JSON (its channel versions readable
        // here), the channel values it names.
        const w = this.ctx.table('checkpoint_writes');
        const b = this.ctx.table('checkpoint_blobs');
        const { rows } = await tx.query<
          Row & { writes: [string, number, string, string, string, string][]; blobs: [string, string, string, string | null][] | null }
        >(
          `SELECT c.thread_id, c.checkpoint_ns, c.checkpoint_id, c.parent_checkpoint_id, c.checkpoint_type, c.checkpoint, c.metadata,
                (SELECT coalesce(json_agg(json_build_array(w.task_id, w.idx, w.channel, w.value_type, w.value, w.task_path)), '[]'::json)
                   FROM ${w} w
                  WHERE w.tenant_id = c.tenant_id AND w.thread_id = c.thread_id AND w.checkpoint_ns = c.checkpoint_ns
                    AND w.checkpoint_id = c.checkpoint_id AND w.deleted_at IS NULL) AS writes,
                CASE WHEN c.checkpoint_type = 'json' THEN
                  (SELECT coalesce(json_agg(json_build_array(v.channel, v.channel_version, b.value_type, b.value)), '[]'::json)
                     FROM jsonb_each_text(c.checkpoint::jsonb -> 'channel_versions') v(channel, channel_version)
                     -- One key lookup per channel the checkpoint names, not a hash of every value the thread ever had
                     -- (LIMIT 1 keeps the planner from flattening the lookup into that join; the key is unique anyway).
                     CROSS JOIN LATERAL (
                       SELECT b.value_type, b.value FROM ${b} b
                        WHERE b.tenant_id = c.tenant_id AND b.thread_id = c.thread_id AND b.checkpoint_ns = c.checkpoint_ns
                          AND b.channel = v.channel AND b.channel_version = v.channel_version AND b.deleted_at IS NULL
                        LIMIT 1) b)
                END AS blobs
           FROM ${this.ctx.table('checkpoints')} c WHERE ${where.join(' AND ')}
          ORDER BY c.thread_id, c.checkpoint_ns, c.checkpoint_id DESC ${limit}`,
          params,
          // A few texts in all (one per combination of conditions): each prepared once per connection.
          { prepare: true },
        );
        return rows.map((r) => ({
          threadId: r.thread_id,
          checkpointNs: r.checkpoint_ns,
          checkpointId: r.checkpoint_id,
          parentCheckpointId: r.parent_checkpoint_id,
          checkpoint: { type: r.checkpoint_type, data: r.checkpoint },
          metadata: r.metadata,
          writes: r.writes.map(([taskId, idx, channel, type, data, taskPath]) => ({
            taskId,
            idx: Number(idx),
            channel,
            value: { type, data },
            taskPath,
          })),
          ...(r.blobs
            ? {
                blobs: r.blobs.map(([channel, version, type, data]) => ({
                  channel,
                  version,
                  value: type === 'empty' || data === null ? null : { type, data },
                })),
              }
            : {}),
        }));
      },
      { single: true },
    );
  }

  /** The writes stored for one checkpoint (a checkpoint's parent's, for pending sends of an old format), read as list() reads them. */
  async writes(key: CheckpointKey): Promise<StoredWrite[]> {
    return (await this.get(key.threadId, key.checkpointNs, key.checkpointId))?.writes ?? [];
  }

  /** Delete a thread's checkpoints, channel values and writes (tombstones that replicate). */
  async deleteThread(threadId: string): Promise<void> {
    await this.ctx.write('checkpoint.deleteThread', async (tx, { provider }) => {
      const version = this.ctx.version();
      for (const name of ['checkpoint_writes', 'checkpoint_blobs', 'checkpoints'] as const)
        await tx.query(
          `UPDATE ${this.ctx.table(name)} SET ${tombstoneSet(name, '$3', '$4')} WHERE tenant_id = $1 AND thread_id = $2 AND deleted_at IS NULL`,
          [this.ctx.tenant, threadId, version, provider],
        );
    });
  }

  /**
   * Checkpoint retention for this tenant: in each thread and namespace, keep
   * the newest `keepLatest` checkpoints and/or those written after `before`,
   * never the newest one, and never the parent of one that is kept; the
   * others go with their writes, and so do channel values no kept checkpoint
   * names (tombstones that replicate; `sync purge` removes them). Values of a
   * checkpoint not stored as JSON are kept, as its references cannot be read here.
   */
  async prune(policy: { keepLatest?: number | undefined; before?: Date | undefined; dryRun?: boolean }): Promise<PrunedCheckpoints> {
    if (policy.keepLatest === undefined && policy.before === undefined) return { checkpoints: 0, writes: 0, blobs: 0 };
    return this.ctx.write('checkpoint.prune', async (tx, { provider }) => {
      const c = this.ctx.table('checkpoints');
      // $1 tenant, $2 keepLatest, $3 before.
      const doomed = `
        WITH ranked AS (
          SELECT thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, created_at,
                 row_number() OVER (PARTITION BY thread_id, checkpoint_ns ORDER BY checkpoint_id DESC) AS n
            FROM ${c} WHERE tenant_id = $1 AND deleted_at IS NULL),
        kept AS (
          SELECT * FROM ranked
           WHERE n = 1 OR (($2::int IS NULL OR n <= $2::int) AND ($3::timestamptz IS NULL OR created_at >= $3::timestamptz))),
        needed AS (
          SELECT thread_id, checkpoint_ns, checkpoint_id FROM kept
          UNION SELECT thread_id, checkpoint_ns, parent_checkpoint_id FROM kept WHERE parent_checkpoint_id IS NOT NULL)
        SELECT r.thread_id, r.checkpoint_ns, r.checkpoint_id FROM ranked r
         WHERE NOT EXISTS (SELECT 1 FROM needed k
                            WHERE k.thread_id = r.thread_id AND k.checkpoint_ns = r.checkpoint_ns AND k.checkpoint_id = r.checkpoint_id)`;
      const { rows } = await tx.query<{ thread_id: string; checkpoint_ns: string; checkpoint_id: string }>(doomed, [
        this.ctx.tenant,
        policy.keepLatest ?? null,
        policy.before ?? null,
      ]);
      const keys = [rows.map((r) => r.thread_id), rows.map((r) => r.checkpoint_ns), rows.map((r) => r.checkpoint_id)];
      const byKey = `unnest($2::text[], $3::text[], $4::text[]) AS k(thread_id, checkpoint_ns, checkpoint_id)`;
      const matches = (t: string) =>
        `${t}.thread_id = k.thread_id AND ${t}.checkpoint_ns = k.checkpoint_ns AND ${t}.checkpoint_id = k.checkpoint_id`;
      const version = this.ctx.version();
      const remove = async (name: 'checkpoints' | 'checkpoint_writes') => {
        const verb = policy.dryRun
          ? `SELECT count(*)::int AS n FROM ${this.ctx.table(name)} t, ${byKey} WHERE t.tenant_id = $1 AND t.deleted_at IS NULL AND ${matches('t')}`
          : `WITH gone AS (UPDATE ${this.ctx.table(name)} t SET ${tombstoneSet(name, '$5', '$6')} FROM ${byKey}
                            WHERE t.tenant_id = $1 AND t.deleted_at IS NULL AND ${matches('t')} RETURNING 1)
             SELECT count(*)::int AS n FROM gone`;
        const { rows: counted } = await tx.query<{ n: number }>(verb, [
          this.ctx.tenant,
          ...keys,
          ...(policy.dryRun ? [] : [version, provider]),
        ]);
        return Number(counted[0]?.n ?? 0);
      };
      const checkpoints = rows.length ? await remove('checkpoints') : 0;
      const writes = rows.length ? await remove('checkpoint_writes') : 0;
      // Channel values no live checkpoint (of JSON form) names any more.
      const b = this.ctx.table('checkpoint_blobs');
      const orphans = `FROM ${b} t WHERE t.tenant_id = $1 AND t.deleted_at IS NULL
          AND NOT EXISTS (SELECT 1 FROM ${c} x WHERE x.tenant_id = t.tenant_id AND x.thread_id = t.thread_id AND x.checkpoint_ns = t.checkpoint_ns
                            AND x.deleted_at IS NULL AND (x.checkpoint_type <> 'json' OR (x.checkpoint::jsonb -> 'channel_versions' ->> t.channel) = t.channel_version))`;
      const { rows: blobs } = await tx.query<{ n: number }>(
        policy.dryRun
          ? `SELECT count(*)::int AS n ${orphans}`
          : `WITH gone AS (UPDATE ${b} t SET ${tombstoneSet('checkpoint_blobs', '$2', '$3')} WHERE (t.tenant_id, t.thread_id, t.checkpoint_ns, t.channel, t.channel_version) IN
               (SELECT t.tenant_id, t.thread_id, t.checkpoint_ns, t.channel, t.channel_version ${orphans}) RETURNING 1) SELECT count(*)::int AS n FROM gone`,
        policy.dryRun ? [this.ctx.tenant] : [this.ctx.tenant, version, provider],
      );
      return { checkpoints, writes, blobs: Number(blobs[0]?.n ?? 0) };
    });
  }
}
