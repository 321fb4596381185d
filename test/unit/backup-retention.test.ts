import { describe, expect, it } from 'vitest';
import { type BackupEntry, type BackupListing, planPrune } from '../../src/ops/index.js';

const day = 86_400_000;
const now = new Date('2026-11-25T12:00:00Z');

function entry(id: string, at: Date, verified?: boolean, provider = 'p1'): BackupEntry {
  return {
    id,
    provider,
    tenant: null,
    startedAt: at.toISOString(),
    snapshotAt: at.toISOString(),
    ageSeconds: Math.round((now.getTime() - at.getTime()) / 1000),
    bytes: 1,
    rows: 1,
    schemaVersion: 7,
    encrypted: false,
    verification: verified === undefined ? null : { id, ok: verified, verifiedAt: at.toISOString() },
  };
}

describe('backup retention (prune plan)', () => {
  // One backup a day for 400 days, two on the newest day; only one old archive ever passed verification.
  const backups = Array.from({ length: 400 }, (_, i) => entry(`d${i}`, new Date(now.getTime() - i * day), i === 399 ? true : undefined));
  backups.unshift(entry('today-2', new Date(now.getTime() + 60_000)));
  const listing: BackupListing = {
    location: '/x',
    backups,
    incomplete: ['.incomplete-1-20261101T000000Z-p1-all-aaaa.amb', '20261125T110000Z-p1-all-bbbb.amb'],
  };
  const plan = planPrune(listing, { daily: 7, weekly: 4, monthly: 12 }, now);
  const kept = new Set(plan.keep.map((k) => k.id));

  it('keeps the newest of each of the last 7 days, 4 weeks and 12 months', () => {
    expect([...kept].filter((id) => plan.keep.find((k) => k.id === id)?.reasons.some((r) => r.startsWith('daily')))).toHaveLength(7);
    expect(kept.has('today-2')).toBe(true);
    expect(kept.has('d0')).toBe(false); // the same day has a newer one
    for (let i = 1; i <= 6; i++) expect(kept.has(`d${i}`), `d${i}`).toBe(true);
    expect(plan.keep.filter((k) => k.reasons.some((r) => r.startsWith('weekly')))).toHaveLength(4);
    expect(plan.keep.filter((k) => k.reasons.some((r) => r.startsWith('monthly')))).toHaveLength(12);
    expect(kept.size).toBeLessThanOrEqual(7 + 4 + 12 + 1);
    expect(plan.remove.length + kept.size).toBe(backups.length);
  });

  it('never removes the newest verified archive, however old', () => {
    expect(kept.has('d399')).toBe(true);
    expect(plan.keep.find((k) => k.id === 'd399')?.reasons).toContain('newest verified');
    expect(plan.remove).not.toContain('d399');
  });

  it('removes leftovers of interrupted backups only once they are a day old', () => {
    expect(plan.leftovers).toEqual(['.incomplete-1-20261101T000000Z-p1-all-aaaa.amb']);
  });

  it('keeps each source and tenant scope as its own series', () => {
    const two = planPrune(
      { location: '/x', backups: [entry('a', now), entry('b', now, undefined, 'p2')], incomplete: [] },
      { daily: 1, weekly: 0, monthly: 0 },
      now,
    );
    expect(two.keep.map((k) => k.id).sort()).toEqual(['a', 'b']);
  });
});
