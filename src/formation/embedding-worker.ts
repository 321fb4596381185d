/**
 * Memories and messages are embedded off the write path: a write commits
 * without waiting for the embedder, and this worker embeds what waits — every
 * live row without an embedding, of the types the config embeds. A batch is
 * claimed in a short transaction (FOR UPDATE SKIP LOCKED, then a claim row
 * with a lease, so concurrent workers never take the same rows), embedded with
 * no transaction open (a slow embedder holds no lock and, on the embedded
 * database, blocks no write), and stored only where the row still has no
 * embedding. A worker killed mid-batch loses nothing: its claims expire and
 * the rows are taken again. A failing embedder never fails a write: the rows
 * are tried again after a backoff, the backlog grows and is visible (status,
 * metrics, an alert), and drains when the embedder returns. Embeddings are
 * written with a new version, so replication copies them like any column:
 * computed once, on the writer.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { MemoryType } from '../core/enums.js';
import { clock } from '../core/hlc.js';
import { checkedVectors, type Embedder } from '../memory/index.js';
import { checkEmbeddingModel } from '../memory/recall/embedding-model.js';
import { storeEmbeddings } from '../memory/recall/embedding-store.js';
import { embeddingTextOf } from '../memory/recall/embedding-text.js';
import { logger } from '../observability/logger.js';
import { embeddingBacklog, embeddingBacklogAge, embeddingsTotal } from '../observability/metrics.js';
import type { Provider, Queryable } from '../providers/index.js';
import { PassLoop } from './pass-loop.js';

export interface EmbeddingWorkerOptions {
  schema: string;
  types: readonly MemoryType[];
  batchSize: number;
  /** Rest between passes when nothing waits. */
  intervalMs: number;
  /** How long a claim holds its rows. */
  leaseMs: number;
}

export interface BatchResult {
  /** Rows waiting that this pass looked at (some may have gone to another worker first). */
  found: number;
  claimed: number;
  embedded: number;
  failed: number;
}

export interface BacklogStatus {
  /** Live rows of the embedded types without an embedding. */
  waiting: number;
  /** Of those, rows whose last attempt failed (waiting for their retry). */
  failing: number;
  /** Age of the oldest waiting row, in seconds (null when none waits). */
  oldestSeconds: number | null;
  /** The last failure's message, when some row is failing. */
  lastError: string | null;
}

/** A row the worker took: `ctid` finds it again when its vector is stored. */
interface ClaimedRow {
  tenant_id: string;
  id: string;
  ctid: string;
  content: unknown;
}

/** What waits for an embedding, over alias `m` ($1: the embedded types): live rows of those types without one (items embed their own). */
const WAITING = 'm.embedding IS NULL AND m.deleted_at IS NULL AND m.namespace IS NULL AND m.memory_type = ANY($1::text[])';

/**
 * The columns searches filter and order by: the ones whose statistics the worker keeps fresh. Sampling
 * the embeddings (1.5 KB arrays) and contents would cost most of an ANALYZE and plan nothing; autovacuum
 * on a server still analyzes every column.
 */
const ANALYZED_COLUMNS = [
  'tenant_id',
  'user_id',
  'session_id',
  'memory_type',
  'namespace',
  'created_at',
  'deleted_at',
  'valid_to',
  'expires_at',
  'search',
  'embedding_model',
  'embedding_dim',
  'embedding_graph',
];

/** Rows stored between two ANALYZEs of memories (see refreshStatistics). */
const ANALYZE_EVERY = 20_000;

/** The backlog metrics are at most this old (the alert on them waits minutes). */
const PUBLISH_EVERY_MS = 5_000;

/** A failed row is tried again after 2^attempts seconds, at most ten minutes. */
const backoffSql = "least(power(2, attempts) * interval '1 second', interval '10 minutes')";

export class EmbeddingWorker extends PassLoop<BatchResult> {
  protected readonly name = 'embedding';

  constructor(
    /** The provider to embed on: the current writer, directly (the worker sees every tenant). */
    private readonly writer: () => Promise<Provider>,
    private readonly embedder: Embedder,
    private readonly options: EmbeddingWorkerOptions,
  ) {
    super();
  }

  protected restAfter(result: BatchResult | undefined): number {
    return result && result.found >= this.options.batchSize ? 0 : this.options.intervalMs;
  }

  /** Embed one batch of what waits; how many rows it took, embedded and failed. */
  async runOnce(): Promise<BatchResult> {
    const provider = await this.writer();
    // Never mix two models' vectors: a changed embedder stops the worker (and `embeddings status` says why).
    await checkEmbeddingModel(provider, this.options.schema, this.embedder);
    const { rows, found } = await provider.transaction((tx) => this.claim(tx));
    if (!rows.length) {
      await this.refreshStatistics(provider, 0);
      await this.publish(provider);
      return { found, claimed: 0, embedded: 0, failed: 0 };
    }
    let vectors: number[][];
    try {
      vectors = checkedVectors(await this.embedder.embed(rows.map((r) => embeddingTextOf(r.content))), rows.length, this.embedder);
    } catch (error) {
      const message = (error as Error).message.slice(0, 500);
      await provider.transaction((tx) => this.recordFailure(tx, rows, message));
      embeddingsTotal.inc({ outcome: 'failed' }, rows.length);
      logger().warn({ rows: rows.length, model: this.embedder.model, err: message }, 'embedding failed; the rows wait for a retry');
      await this.publish(provider);
      return { found, claimed: rows.length, embedded: 0, failed: rows.length };
    }
    const embedded = await provider.transaction((tx) => this.store(tx, provider.name, rows, vectors));
    embeddingsTotal.inc({ outcome: 'embedded' }, embedded);
    await this.refreshStatistics(provider, embedded);
    await this.publish(provider);
    return { found, claimed: rows.length, embedded, failed: 0 };
  }

  private storedSinceAnalyze = 0;

  /**
   * ANALYZE memories after every ANALYZE_EVERY rows this worker stored, and when a pass finds nothing to
   * embed and the table has grown by more than a tenth (and a megabyte) since its last ANALYZE (its pages
   * against those the statistics counted: the embedded database keeps no count of changed rows).
   * Searches are planned from the table's statistics; a table that grows faster than autovacuum looks
   * (an import, a backlog being drained, one user's history growing by thousands) — or the embedded
   * database, which never analyzes by itself — would otherwise be searched with plans made
   * for the much smaller table it was, an order of magnitude slower.
   */
  private async refreshStatistics(provider: Provider, stored: number): Promise<void> {
    this.storedSinceAnalyze += stored;
    if (this.storedSinceAnalyze < ANALYZE_EVERY) {
      if (stored > 0) return;
      const { rows } = await provider
        .query<{ stale: boolean }>(
          `SELECT pg_relation_size(c.oid) / current_setting('block_size')::int > 128 + 1.1 * c.relpages AS stale
             FROM pg_class c WHERE c.oid = to_regclass($1)`,
          [`${this.options.schema}.memories`],
        )
        .catch(() => ({ rows: [] as { stale: boolean }[] }));
      if (!rows[0]?.stale) return;
    }
    this.storedSinceAnalyze = 0;
    await provider
      .query(`ANALYZE ${this.options.schema}.memories (${ANALYZED_COLUMNS.join(', ')})`)
      .catch((error: unknown) =>
        logger().warn({ err: (error as Error).message }, 'could not analyze memories; its statistics may be behind'),
      );
  }

  /** Embed everything that waits now (a command's `--drain`, tests): passes until one finds nothing it can take. */
  async drain(options: { timeoutMs?: number } = {}): Promise<number> {
    const deadline = Date.now() + (options.timeoutMs ?? 600_000);
    let embedded = 0;
    for (;;) {
      const result = await this.runOnce();
      embedded += result.embedded;
      if (result.found === 0 || result.failed > 0 || Date.now() > deadline) return embedded;
      if (result.claimed === 0) await sleep(10);
    }
  }

  /** What waits on `provider`. */
  async status(provider?: Provider): Promise<BacklogStatus> {
    const on = provider ?? (await this.writer());
    const s = this.options.schema;
    const { rows } = await on.query<{ waiting: string; failing: string; oldest: number | null; last_error: string | null }>(
      `SELECT count(*)::text AS waiting,
              count(c.id) FILTER (WHERE c.attempts > 0)::text AS failing,
              extract(epoch FROM now() - min(m.created_at))::float8 AS oldest,
              (SELECT last_error FROM ${s}.embedding_claims WHERE attempts > 0 ORDER BY retry_after DESC LIMIT 1) AS last_error
         FROM ${s}.memories m
         LEFT JOIN ${s}.embedding_claims c ON c.tenant_id = m.tenant_id AND c.id = m.id
        WHERE ${WAITING}`,
      [this.options.types],
    );
    const row = rows[0];
    return {
      waiting: Number(row?.waiting ?? 0),
      failing: Number(row?.failing ?? 0),
      oldestSeconds: row?.oldest === null || row?.oldest === undefined ? null : Math.max(0, Math.round(Number(row.oldest))),
      lastError: row?.last_error ?? null,
    };
  }

  private lastPublished = 0;

  /**
   * Set the backlog metrics, at most every PUBLISH_EVERY_MS: the status counts
   * every waiting row, and a worker catching up on a large backlog passes many
   * times a second.
   */
  private async publish(provider: Provider): Promise<void> {
    if (Date.now() - this.lastPublished < PUBLISH_EVERY_MS) return;
    this.lastPublished = Date.now();
    const status = await this.status(provider).catch(() => undefined);
    if (!status) return;
    embeddingBacklog.set(status.waiting);
    embeddingBacklogAge.set(status.oldestSeconds ?? 0);
  }

  /** Take up to a batch of waiting rows nobody holds: locked while claimed, then held by a lease. */
  private async claim(tx: Queryable): Promise<{ rows: ClaimedRow[]; found: number }> {
    const s = this.options.schema;
    const { rows } = await tx.query<ClaimedRow>(
      `SELECT m.tenant_id, m.id::text AS id, m.ctid::text AS ctid, m.content FROM ${s}.memories m
        WHERE ${WAITING}
          AND NOT EXISTS (SELECT 1 FROM ${s}.embedding_claims c WHERE c.tenant_id = m.tenant_id AND c.id = m.id AND c.retry_after > now())
        ORDER BY m.created_at
        LIMIT $2
        FOR UPDATE OF m SKIP LOCKED`,
      [this.options.types, this.options.batchSize],
    );
    if (!rows.length) return { rows, found: 0 };
    // The claim decides: a row another worker claimed since this statement's snapshot (its claim
    // committed as the row's lock was released) keeps that claim, and is not this worker's.
    const { rows: claimed } = await tx.query<{ key: string }>(
      `INSERT INTO ${s}.embedding_claims AS c (tenant_id, id, retry_after)
       SELECT t, i, now() + $3 * interval '1 millisecond' FROM unnest($1::text[], $2::uuid[]) AS u(t, i)
       ON CONFLICT (tenant_id, id) DO UPDATE SET retry_after = EXCLUDED.retry_after WHERE c.retry_after <= now()
       RETURNING c.tenant_id || '/' || c.id::text AS key`,
      [rows.map((r) => r.tenant_id), rows.map((r) => r.id), this.options.leaseMs],
    );
    const ours = new Set(claimed.map((r) => r.key));
    return { rows: rows.filter((r) => ours.has(`${r.tenant_id}/${r.id}`)), found: rows.length };
  }

  /**
   * Store the vectors where the rows still have none and still live, with a
   * new version (replication copies them), outside the change history (an
   * embedding is derived from the content the history holds); release the claims.
   */
  private async store(tx: Queryable, origin: string, rows: ClaimedRow[], vectors: number[][]): Promise<number> {
    const stored = await storeEmbeddings(tx, this.options.schema, rows, vectors, this.embedder, clock.now().toString(), origin);
    await this.release(tx, rows);
    return stored;
  }

  private async release(tx: Queryable, rows: { tenant_id: string; id: string }[]): Promise<void> {
    await tx.query(
      `DELETE FROM ${this.options.schema}.embedding_claims c USING unnest($1::text[], $2::uuid[]) AS u(t, i)
        WHERE c.tenant_id = u.t AND c.id = u.i`,
      [rows.map((r) => r.tenant_id), rows.map((r) => r.id)],
    );
  }

  private async recordFailure(tx: Queryable, rows: { tenant_id: string; id: string }[], message: string): Promise<void> {
    await tx.query(
      `UPDATE ${this.options.schema}.embedding_claims c
          SET attempts = c.attempts + 1, last_error = $3, retry_after = now() + ${backoffSql.replace('attempts', 'c.attempts')}
         FROM unnest($1::text[], $2::uuid[]) AS u(t, i)
        WHERE c.tenant_id = u.t AND c.id = u.i`,
      [rows.map((r) => r.tenant_id), rows.map((r) => r.id), message],
    );
  }
}
