import {
  applyPrune,
  type BackupListing,
  type BackupStore,
  backupKeyFromEnv,
  createBackup,
  highestVersion,
  LocalStore,
  listBackups,
  type ProgressListener,
  planPrune,
  S3Store,
  type Sidecar,
  type Verification,
  verifyBackup,
} from '../backup/index.js';
import type { AgentmemConfig } from '../config/index.js';
import { clock } from '../core/hlc.js';
import { type Erasure, mergeLedgers, readLedger } from '../erasure/index.js';
import { logger } from '../observability/logger.js';
import {
  backupBytes,
  backupDuration,
  backupLastSuccess,
  backupLastVerified,
  backupRows,
  drillRto,
  drillSuccess,
} from '../observability/metrics.js';
import type { Provider, ProviderSelection, ProviderSet } from '../providers/index.js';
import { onEachReachable } from './reachable.js';

/** The configured archive store, or the one `--to`/`--from` names. */
export function openBackupStore(config: AgentmemConfig, destination = config.backup.destination): BackupStore {
  if (destination.startsWith('s3://')) {
    const s3 = config.backup.s3;
    const endpoint = s3.endpoint ?? process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
    return new S3Store(destination, {
      region: s3.region,
      forcePathStyle: s3.forcePathStyle,
      requestTimeoutMs: s3.requestTimeoutMs,
      ...(endpoint ? { endpoint } : {}),
    });
  }
  return new LocalStore(destination);
}

export interface BackupRun {
  provider: string;
  ok: boolean;
  sidecar?: Sidecar;
  verification?: Verification;
  error?: string;
  durationMs: number;
}

/**
 * Back up the selected providers (default: as config.backup.providers says),
 * each archive verified by re-reading it when `verify` is set. One provider
 * failing does not stop the others; each result says how it went.
 */
export async function backupProviders(
  config: AgentmemConfig,
  providers: ProviderSet,
  store: BackupStore,
  options: { selection?: ProviderSelection; tenant?: string; verify?: boolean; onProgress?: ProgressListener } = {},
): Promise<BackupRun[]> {
  const key = backupKeyFromEnv();
  const runs: BackupRun[] = [];
  for (const name of providers.select(options.selection ?? {}, config.backup.providers)) {
    const started = performance.now();
    try {
      const provider = await providers.get(name);
      const sidecar = await createBackup(provider, {
        schema: config.schema,
        store,
        compression: config.backup.compression,
        compressionLevel: config.backup.compressionLevel,
        ...(options.tenant ? { tenant: options.tenant } : {}),
        ...(key ? { key } : {}),
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      });
      const durationMs = Math.round(performance.now() - started);
      const rows = sidecar.manifest.tables.reduce((n, t) => n + t.rows, 0);
      backupLastSuccess.set({ provider: name }, Date.now() / 1000);
      backupDuration.set({ provider: name }, durationMs / 1000);
      backupBytes.set({ provider: name }, sidecar.archive.bytes);
      backupRows.set({ provider: name }, rows);
      const run: BackupRun = { provider: name, ok: true, sidecar, durationMs };
      if (options.verify) {
        run.verification = await verifyBackup(store, sidecar.manifest.id, key ? { key } : {});
        run.ok = run.verification.ok;
        if (run.ok) backupLastVerified.set({ provider: name }, Date.now() / 1000);
      }
      runs.push(run);
    } catch (error) {
      logger().error({ provider: name, err: (error as Error).message }, 'backup failed');
      runs.push({ provider: name, ok: false, error: (error as Error).message, durationMs: Math.round(performance.now() - started) });
    }
  }
  return runs;
}

/** The newest verified archive's age against config.backup.rpoHours: what `verify` and the "backup stale" alert look at. */
export interface BackupFreshness {
  backups: number;
  newestVerifiedAt: string | null;
  stale: boolean;
  drill: { ok: boolean; at: string; rtoSeconds: number | null } | null;
}

/** A drill that restored, but took longer than the RTO (backup.rtoMinutes): the alert, verify and `top` all ask this. */
export function drillOverRto(config: AgentmemConfig, drill: BackupFreshness['drill']): boolean {
  return Boolean(drill?.ok && drill.rtoSeconds !== null && drill.rtoSeconds > config.backup.rtoMinutes * 60);
}

export function backupFreshness(config: AgentmemConfig, listing: BackupListing, now = Date.now()): BackupFreshness {
  const verified = listing.backups.filter((b) => b.verification?.ok);
  const newest = verified[0];
  const drilled = listing.backups
    .filter((b) => b.verification?.restoreTest)
    .sort((a, b) => (b.verification?.verifiedAt ?? '').localeCompare(a.verification?.verifiedAt ?? ''))[0];
  const test = drilled?.verification?.restoreTest;
  return {
    backups: listing.backups.length,
    newestVerifiedAt: newest?.snapshotAt ?? null,
    stale: !newest || now - Date.parse(newest.snapshotAt) > config.backup.rpoHours * 3_600_000,
    drill:
      drilled && test ? { ok: test.ok, at: drilled.verification?.verifiedAt ?? '', rtoSeconds: Math.round(test.durationMs) / 1000 } : null,
  };
}

/**
 * The restore drill: restore the newest archive into a scratch schema on a
 * provider, compare its checksums with the backup's, drop it; the measured
 * time is the RTO. Recorded beside the archive and as metrics.
 */
export async function restoreDrill(
  config: AgentmemConfig,
  provider: Provider,
  store: BackupStore,
): Promise<{ id: string | null; verification: Verification | null }> {
  const { backups } = await listBackups(store);
  const newest = backups[0];
  if (!newest) {
    drillSuccess.set(0);
    return { id: null, verification: null };
  }
  const key = backupKeyFromEnv();
  const verification = await verifyBackup(store, newest.id, {
    ...(key ? { key } : {}),
    restoreTest: { provider, schema: config.schema, embeddingDim: config.embedder.dimensions },
  });
  drillSuccess.set(verification.ok ? 1 : 0);
  if (verification.restoreTest) drillRto.set(verification.restoreTest.durationMs / 1000);
  return { id: newest.id, verification };
}

/** Retention: what `backup prune` keeps and removes (applied unless dryRun). */
export async function pruneBackups(config: AgentmemConfig, store: BackupStore, options: { dryRun?: boolean } = {}) {
  const plan = planPrune(await listBackups(store), config.backup.retention);
  if (!options.dryRun) await applyPrune(store, plan);
  return plan;
}

/**
 * The highest version any reachable provider holds: a rewind is written above
 * it, so the restored rows win on every provider (not only on the target).
 */
export async function versionFloor(config: AgentmemConfig, providers: ProviderSet): Promise<bigint> {
  const highest = await onEachReachable(providers, 'could not read the highest version (restore goes on)', (p) =>
    highestVersion(p, config.schema),
  );
  const floor = Object.values(highest).reduce<bigint>((a, v) => (v !== null && v > a ? v : a), 0n);
  clock.observe(floor);
  return floor;
}

/**
 * The erasure ledger as every reachable provider holds it: a restore applies
 * all of it, so data erased after an archive was made stays erased even when
 * the target itself never saw the erasure.
 */
export async function knownErasures(config: AgentmemConfig, providers: ProviderSet): Promise<Erasure[]> {
  const ledgers = await onEachReachable(providers, 'could not read the erasure ledger (restore goes on)', (p) =>
    readLedger(p, config.schema),
  );
  return mergeLedgers(...Object.values(ledgers).filter((l): l is Erasure[] => l !== null));
}
