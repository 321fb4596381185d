import type { BackupEntry, BackupListing } from './catalog.js';
import { archiveName, sidecarName, verificationName } from './manifest.js';
import type { BackupStore } from './store.js';

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
