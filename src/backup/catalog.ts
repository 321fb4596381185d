import { randomBytes } from 'node:crypto';
import { BackupError } from '../errors/index.js';
import type { Provider } from '../providers/index.js';
import { BUCKETS, bucketChecksums, REPLICATED_TABLES } from '../replication/index.js';
import { archiveName, type Sidecar, sidecarName, type Verification, verificationName, verificationSchema } from './manifest.js';
import type { ProgressListener } from './progress.js';
import { readArchive, readSidecar } from './read.js';
import { restoreBackup } from './restore.js';
import type { BackupStore } from './store.js';

export interface BackupEntry {
  id: string;
  provider: string;
  /** The tenant backed up, or null for every tenant. */
  tenant: string | null;
  startedAt: string;
  snapshotAt: string;
  ageSeconds: number;
  bytes: number;
  rows: number;
  schemaVersion: number;
  encrypted: boolean;
  /** The newest verification, if any ran. */
  verification: Verification | null;
}

export interface BackupListing {
  location: string;
  /** Complete archives, newest first. */
  backups: BackupEntry[];
  /** Objects that are not usable backups: interrupted uploads, archives without a manifest, manifests without an archive. */
  incomplete: string[];
}

/** Every complete backup in the store, newest first; what is not complete is named apart, never listed as usable. */
export async function listBackups(store: BackupStore, now = new Date()): Promise<BackupListing> {
  const objects = await store.list();
  const sizes = new Map(objects.map((o) => [o.name, o.bytes]));
  const backups: BackupEntry[] = [];
  const incomplete: string[] = [];
  const claimed = new Set<string>();
  for (const object of objects.filter((o) => o.name.endsWith('.manifest.json'))) {
    const id = object.name.slice(0, -'.manifest.json'.length);
    let sidecar: Sidecar;
    try {
      sidecar = await readSidecar(store, id);
    } catch {
      incomplete.push(object.name);
      continue;
    }
    claimed.add(object.name);
    if (sizes.get(sidecar.archive.name) !== sidecar.archive.bytes) {
      incomplete.push(object.name);
      continue;
    }
    claimed.add(sidecar.archive.name);
    const verificationText = await store.getText(verificationName(id));
    let verification: Verification | null = null;
    if (verificationText) {
      claimed.add(verificationName(id));
      verification = verificationSchema.safeParse(JSON.parse(verificationText)).data ?? null;
    }
    const m = sidecar.manifest;
    backups.push({
      id,
      provider: m.source.provider,
      tenant: m.tenant,
      startedAt: m.startedAt,
      snapshotAt: m.snapshotAt,
      ageSeconds: Math.round((now.getTime() - Date.parse(m.snapshotAt)) / 1000),
      bytes: sidecar.archive.bytes,
      rows: m.tables.reduce((n, t) => n + t.rows, 0),
      schemaVersion: m.schema.version,
      encrypted: m.encrypted,
      verification,
    });
  }
  for (const object of objects) if (!claimed.has(object.name) && !incomplete.includes(object.name)) incomplete.push(object.name);
  backups.sort((a, b) => b.snapshotAt.localeCompare(a.snapshotAt) || b.id.localeCompare(a.id));
  return { location: store.location, backups, incomplete };
}

export interface RestoreTestOptions {
  provider: Provider;
  schema: string;
  embeddingDim: number;
}

/**
 * Re-read an archive and check every hash; with `restoreTest`, also restore it
 * into a scratch schema on a provider and compare the restored tables' bucket
 * checksums (those `sync verify` uses) with the ones the backup recorded from
 * its snapshot. The result is kept beside the archive.
 */
export async function verifyBackup(
  store: BackupStore,
  id: string,
  options: { key?: string; restoreTest?: RestoreTestOptions; onProgress?: ProgressListener } = {},
): Promise<Verification> {
  const sidecar = await readSidecar(store, id);
  const verification: Verification = { id, ok: false, verifiedAt: new Date().toISOString() };
  try {
    const reading = {
      ...(options.key ? { key: options.key } : {}),
      phase: 'verify' as const,
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    };
    for await (const section of readArchive(store, sidecar, reading)) for await (const _ of section.data) void _;
    verification.ok = true;
    if (options.restoreTest) {
      verification.restoreTest = await restoreTest(store, sidecar, options.restoreTest, options.key);
      verification.ok = verification.restoreTest.ok;
    }
  } catch (error) {
    // No key, or the wrong one, says nothing about the archive: nothing is recorded.
    if (error instanceof BackupError && error.code === 'BACKUP_KEY') throw error;
    verification.ok = false;
    verification.error = (error as Error).message;
  }
  await store.putText(verificationName(id), `${JSON.stringify(verification, null, 2)}\n`);
  return verification;
}

async function restoreTest(store: BackupStore, sidecar: Sidecar, options: RestoreTestOptions, key?: string) {
  const started = performance.now();
  const target = options.provider.direct();
  const scratch = `agentmem_drill_${randomBytes(6).toString('hex')}`;
  try {
    await restoreBackup(target, sidecar.manifest.id, {
      schema: options.schema,
      intoSchema: scratch,
      store,
      ...(key ? { key } : {}),
      mode: 'seed',
      embeddingDim: options.embeddingDim,
    });
    const durationMs = Math.round(performance.now() - started);
    let differing = 0;
    const tenant = sidecar.manifest.tenant ?? undefined;
    for (const table of REPLICATED_TABLES) {
      const recorded = sidecar.manifest.checksums[table.name];
      if (!recorded) continue;
      const restored = await target.transaction((tx) => bucketChecksums(tx, scratch, table, tenant));
      for (let bucket = 0; bucket < BUCKETS; bucket++)
        if ((restored.get(bucket) ?? null) !== (recorded[String(bucket)] ?? null)) differing++;
    }
    const checked = Object.keys(sidecar.manifest.checksums).length > 0;
    return { ok: checked && differing === 0, durationMs, provider: target.name, differingBuckets: differing };
  } finally {
    await target.exec(`DROP SCHEMA IF EXISTS ${scratch} CASCADE`).catch(() => undefined);
  }
}

export interface Retention {
  daily: number;
  weekly: number;
  monthly: number;
}

export interface PrunePlan {
  keep: { id: string; reasons: string[] }[];
  remove: string[];
  /** Leftovers of interrupted backups older than a day. */
  leftovers: string[];
}

const isoWeek = (d: Date): string => {
  const t = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
  const day = t.getUTCDay() || 7;
  t.setUTCDate(t.getUTCDate() + 4 - day);
  const yearStart = Date.UTC(t.getUTCFullYear(), 0, 1);
  return `${t.getUTCFullYear()}-W${Math.ceil(((t.getTime() - yearStart) / 86_400_000 + 1) / 7)}`;
};

/**
 * Which archives retention keeps: per series (source provider and tenant
 * scope), the newest of each of the last `daily` days, `weekly` ISO weeks and
 * `monthly` months that have one — and always the newest verified archive.
 */
export function planPrune(listing: BackupListing, retention: Retention, now = new Date()): PrunePlan {
  const keep = new Map<string, string[]>();
  const note = (id: string, reason: string) => keep.set(id, [...(keep.get(id) ?? []), reason]);
  const series = new Map<string, BackupEntry[]>();
  for (const b of listing.backups) {
    const key = `${b.provider}/${b.tenant ?? '*'}`;
    series.set(key, [...(series.get(key) ?? []), b]);
  }
  for (const backups of series.values()) {
    const buckets = [
      { name: 'daily', limit: retention.daily, key: (d: Date) => d.toISOString().slice(0, 10), seen: new Set<string>() },
      { name: 'weekly', limit: retention.weekly, key: isoWeek, seen: new Set<string>() },
      { name: 'monthly', limit: retention.monthly, key: (d: Date) => d.toISOString().slice(0, 7), seen: new Set<string>() },
    ];
    for (const b of backups) {
      const at = new Date(b.snapshotAt);
      for (const bucket of buckets) {
        const k = bucket.key(at);
        if (bucket.seen.has(k) || bucket.seen.size >= bucket.limit) continue;
        bucket.seen.add(k);
        note(b.id, `${bucket.name} ${k}`);
      }
    }
  }
  const newestVerified = listing.backups.find((b) => b.verification?.ok);
  if (newestVerified) note(newestVerified.id, 'newest verified');
  const dayAgo = now.getTime() - 86_400_000;
  return {
    keep: [...keep].map(([id, reasons]) => ({ id, reasons })),
    remove: listing.backups.filter((b) => !keep.has(b.id)).map((b) => b.id),
    leftovers: listing.incomplete.filter((name) => {
      const stamp = /^(?:\.incomplete-\d+-)?(\d{8}T\d{6}Z)/.exec(name)?.[1];
      if (!stamp) return false;
      const iso = `${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 11)}:${stamp.slice(11, 13)}:${stamp.slice(13)}`;
      return Date.parse(iso) < dayAgo;
    }),
  };
}

/** Apply a prune plan: the manifest goes first, so an archive half-removed is never listed as usable. */
export async function applyPrune(store: BackupStore, plan: PrunePlan): Promise<void> {
  for (const id of plan.remove) {
    await store.remove(sidecarName(id));
    await store.remove(archiveName(id));
    await store.remove(verificationName(id));
  }
  for (const name of plan.leftovers) await store.remove(name);
}
