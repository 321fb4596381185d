import { randomBytes } from 'node:crypto';
import { BackupError } from '../errors/index.js';
import type { Provider } from '../providers/index.js';
import { BUCKETS, bucketChecksums, REPLICATED_TABLES } from '../replication/index.js';
import { type Sidecar, type Verification, verificationName, verificationSchema } from './manifest.js';
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
      // Over the columns the archive has: an archive made before a column was added summed its rows without it.
      const archived = new Set(sidecar.manifest.tables.find((t) => t.name === table.name)?.columns.map((c) => c.name));
      const asArchived = { ...table, columns: table.columns.filter((c) => archived.has(c)) };
      const restored = await target.transaction((tx) => bucketChecksums(tx, scratch, asArchived, tenant));
      for (let bucket = 0; bucket < BUCKETS; bucket++)
        if ((restored.get(bucket) ?? null) !== (recorded[String(bucket)] ?? null)) differing++;
    }
    const checked = Object.keys(sidecar.manifest.checksums).length > 0;
    return { ok: checked && differing === 0, durationMs, provider: target.name, differingBuckets: differing };
  } finally {
    await target.exec(`DROP SCHEMA IF EXISTS ${scratch} CASCADE`).catch(() => undefined);
  }
}
