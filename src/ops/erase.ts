import { createHash } from 'node:crypto';
import { highestVersion } from '../backup/index.js';
import type { AgentmemConfig } from '../config/index.js';
import { clock } from '../core/hlc.js';
import { newId } from '../core/ids.js';
import {
  applyErasures,
  type ErasedCounts,
  type Erasure,
  type ErasureSubject,
  loadSigningKey,
  recordLedger,
  type SignedReport,
  signReport,
} from '../erasure/index.js';
import { ConflictError, ProviderUnavailableError, UsageError } from '../errors/index.js';
import { HOLD_CATEGORY } from '../memory/index.js';
import { erasuresTotal } from '../observability/metrics.js';
import type { Provider, ProviderSet } from '../providers/index.js';
import { bucketChecksums, REPLICATED_TABLES, runSync } from '../replication/index.js';
import { Runtime } from '../runtime/index.js';
import { requireAllTenants } from '../schema/index.js';

export interface EraseRequest {
  tenant: string;
  userId?: string;
  sessionId?: string;
  dryRun?: boolean;
  actor?: string;
  /** Progress of each step over the providers (counting, recording, deleting, replicating, sweeping, verifying). */
  onProgress?: (done: number, total: number, step: string) => void;
}

/** The proof of an erasure: what was removed where, and that every provider agrees afterwards. */
export interface ErasureReport {
  /** The ledger entry (null in a dry run: nothing recorded). */
  ledgerId: string | null;
  tenant: string;
  subject: ErasureSubject;
  subjectId: string;
  dryRun: boolean;
  /** Rows of the subject written at or below this version were erased. */
  erasedVersion: string;
  startedAt: string;
  finishedAt: string;
  actor: string | null;
  /** Rows removed per provider and table (a dry run: that would be). */
  removed: Record<string, ErasedCounts>;
  /** Rows removed by the second pass, after replication ran (copies that were in flight). */
  removedAfterSync: Record<string, ErasedCounts>;
  /**
   * Of the memories removed, per provider: those memory formation derived from the subject's messages
   * (extracted facts, summaries — they record their provenance) and working-memory documents.
   */
  formed: Record<string, number>;
  /** Rows of the subject left per provider afterwards: 0 everywhere, or the erasure is not verified. */
  remaining: Record<string, number>;
  /** The tenant's checksum per table and provider after the erasure (equal across providers when they agree). */
  checksums: Record<string, Record<string, string>>;
  verified: boolean;
}

const sum = (c: ErasedCounts) => Object.values(c).reduce((a, b) => a + b, 0);

/**
 * Erase a tenant, or a user or session in it, from every provider: record the
 * erasure in the ledger, delete the subject's rows and their change history on
 * each provider, let replication run, sweep again, and verify — nothing of the
 * subject left anywhere and the tenant's checksums equal. Every provider must
 * be reachable (one that is not would keep, and later send, the subject's rows).
 * A legal hold covering the subject refuses it. The report is signed.
 */
export async function eraseSubject(
  config: AgentmemConfig,
  providers: ProviderSet,
  request: EraseRequest,
): Promise<{ report: ErasureReport; signed: SignedReport<ErasureReport> | null; keyCreated: boolean }> {
  if (request.userId && request.sessionId) throw new UsageError('erase one subject: --user or --session, not both');
  const subject: ErasureSubject = request.userId ? 'user' : request.sessionId ? 'session' : 'tenant';
  const subjectId = request.userId ?? request.sessionId ?? request.tenant;
  const schema = config.schema;
  const started = new Date();
  const all = await reachAll(providers, schema);
  await refuseUnderHold(all[0] as Provider, schema, request.tenant, subject, subjectId);

  let floor = clock.now();
  for (const p of all) {
    const v = (await highestVersion(p, schema, { tenant: request.tenant })) + 1n;
    if (v > floor) floor = v;
  }
  clock.observe(floor);
  const origin = (all[0] as Provider).name;
  const entry: Erasure = {
    tenant: request.tenant,
    id: newId(),
    subject,
    subjectId,
    erasedVersion: floor.toString(),
    erasedAt: started.toISOString(),
    actor: request.actor ?? null,
    version: floor.toString(),
    origin,
    report: null,
  };
  const report: ErasureReport = {
    ledgerId: request.dryRun ? null : entry.id,
    tenant: request.tenant,
    subject,
    subjectId,
    dryRun: Boolean(request.dryRun),
    erasedVersion: entry.erasedVersion,
    startedAt: started.toISOString(),
    finishedAt: '',
    actor: entry.actor,
    removed: {},
    removedAfterSync: {},
    formed: {},
    remaining: {},
    checksums: {},
    verified: false,
  };
  /** fn on each provider in turn, reported as `step` (providers done of all). */
  const onEach = async (step: string, fn: (p: Provider) => Promise<void>) => {
    for (const [i, p] of all.entries()) {
      await fn(p);
      request.onProgress?.(i + 1, all.length, step);
    }
  };
  await onEach('counting what formation derived', async (p) => {
    report.formed[p.name] = await formedRows(p, schema, request.tenant, subject, subjectId);
  });
  if (request.dryRun) {
    await onEach('counting what would be erased', async (p) => {
      report.removed[p.name] = await applyErasures(p, schema, [entry], { count: true });
    });
    report.finishedAt = new Date().toISOString();
    return { report, signed: null, keyCreated: false };
  }
  // The ledger first: an erasure cut short is recorded, and any restore applies it.
  await onEach('recording the erasure', (p) => p.transaction((tx) => recordLedger(tx, schema, [entry])));
  await onEach('erasing', async (p) => {
    report.removed[p.name] = await p.transaction((tx) => applyErasures(tx, schema, [entry]));
  });
  // Copies in flight between providers land now; the second pass removes them.
  await runSync(all, Runtime.over(config, providers).replicator);
  request.onProgress?.(1, 1, 'replicating');
  await onEach('erasing what replication brought', async (p) => {
    report.removedAfterSync[p.name] = await p.transaction((tx) => applyErasures(tx, schema, [entry]));
    report.remaining[p.name] = sum(await applyErasures(p, schema, [entry], { count: true }));
  });
  for (const table of REPLICATED_TABLES) report.checksums[table.name] = {};
  await onEach('comparing checksums', async (p) => {
    for (const table of REPLICATED_TABLES)
      (report.checksums[table.name] as Record<string, string>)[p.name] = digest(
        await p.transaction((tx) => bucketChecksums(tx, schema, table, request.tenant)),
      );
  });
  report.verified =
    Object.values(report.remaining).every((n) => n === 0) &&
    Object.values(report.checksums).every((byProvider) => new Set(Object.values(byProvider)).size <= 1);
  report.finishedAt = new Date().toISOString();

  const { key, created } = loadSigningKey(config.erasure.signingKeyFile);
  const signed = signReport(report, key);
  // The signed report goes into the ledger entry, the same newer row on every provider.
  const withReport: Erasure = { ...entry, report: signed, version: (floor + 1n).toString() };
  clock.observe(floor + 1n);
  for (const p of all) await p.transaction((tx) => recordLedger(tx, schema, [withReport]));
  erasuresTotal.inc({ subject });
  return { report, signed, keyCreated: created };
}

/** The subject's live memories that memory formation wrote (with provenance), and its working-memory documents. */
async function formedRows(db: Provider, schema: string, tenant: string, subject: ErasureSubject, subjectId: string): Promise<number> {
  const whose =
    subject === 'user'
      ? `(m.user_id = $2 OR m.session_id IN (SELECT s.id FROM ${schema}.sessions s WHERE s.tenant_id = $1 AND s.user_id = $2))`
      : subject === 'session'
        ? 'm.session_id::text = $2'
        : '$2::text IS NOT NULL';
  const { rows } = await db.query<{ n: string }>(
    `SELECT count(*)::text AS n FROM ${schema}.memories m
      WHERE m.tenant_id = $1 AND m.deleted_at IS NULL AND ${whose}
        AND (m.memory_type = 'working_memory' OR (m.metadata ? 'provenance' AND m.memory_type IN ('fact', 'preference', 'decision', 'issue', 'action', 'context', 'summary')))`,
    [tenant, subjectId],
  );
  return Number(rows[0]?.n ?? 0);
}

/** Every provider's direct connection (it must see every tenant); any unreachable one stops the erasure before it starts. */
async function reachAll(providers: ProviderSet, schema: string): Promise<Provider[]> {
  const all: Provider[] = [];
  const missing: { name: string; reason: string }[] = [];
  for (const name of providers.names) {
    try {
      const p = (await providers.get(name)).direct();
      await requireAllTenants(p, schema);
      all.push(p);
    } catch (error) {
      missing.push({ name, reason: (error as Error).message });
    }
  }
  const first = missing[0];
  if (first)
    throw new ProviderUnavailableError(
      first.name,
      `${first.reason} — erase needs every provider (${missing.map((m) => m.name).join(', ')} unreachable): nothing was erased; try again when it is back`,
    );
  return all;
}

async function refuseUnderHold(db: Provider, schema: string, tenant: string, subject: ErasureSubject, subjectId: string): Promise<void> {
  const { rows } = await db.query<{ key: string }>(
    `SELECT h.key FROM ${schema}.settings h
      WHERE h.tenant_id = $1 AND h.category = '${HOLD_CATEGORY}' AND h.deleted_at IS NULL
        AND ($2 = 'tenant' OR h.key = 'tenant' OR h.key = $2 || ':' || $3
             OR ($2 = 'session' AND h.key IN (SELECT 'user:' || s.user_id FROM ${schema}.sessions s WHERE s.tenant_id = $1 AND s.id::text = $3)))
      ORDER BY h.key`,
    [tenant, subject, subjectId],
  );
  if (rows.length)
    throw new ConflictError(
      `a legal hold covers this erasure (${rows.map((r) => r.key).join(', ')} in tenant ${tenant}): lift it with \`agentmem retention release\` first`,
      { tenant, holds: rows.map((r) => r.key) },
    );
}

/** A table's per-bucket checksums as one short digest (buckets in order). */
function digest(buckets: Map<number, string>): string {
  const text = [...buckets.entries()]
    .sort(([a], [b]) => a - b)
    .map(([b, v]) => `${b}=${v}`)
    .join(';');
  return createHash('sha256').update(text).digest('hex').slice(0, 32);
}
