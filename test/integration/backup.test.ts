import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentMemory, metricsRegistry } from '../../src/index.js';
import {
  BackupScheduler,
  conditionsFrom,
  createBackup,
  LocalStore,
  latestSchemaVersion,
  listBackups,
  loadConfig,
  Migrator,
  Monitor,
  PgProvider,
  ProviderSet,
  Replicator,
  restoreAsOf,
  restoreBackup,
  runSync,
  verifyBackup,
  verifyProviders,
} from '../../src/ops/index.js';
import { bucketChecksums, REPLICATED_TABLES } from '../../src/replication/index.js';
import { expectArchiveFormats } from '../harness/archive-formats.js';
import { progressEvents, runCli, startCli } from '../harness/cli.js';
import { providerConfig } from '../harness/providers.js';
import { migrateAll, type RoutedStore, routedStore, useCluster } from '../harness/router-cluster.js';

/**
 * Backups, history and restores on real servers: p1 and p2 are a replicated
 * set, p3 a server outside it (an empty provider being added, an older
 * schema). Faults are real: SIGKILL mid-backup and mid-restore, damaged files.
 */
const KEY = 'test-backup-key-0123456789';
const cluster = useCluster(3);
let routed: RoutedStore;
let a: AgentMemory;
let b: AgentMemory;
let cwd: string;
let backupDir: string;
const providers: PgProvider[] = [];
const provider = (name: string) => {
  const p = new PgProvider(providerConfig(cluster.server(name)));
  providers.push(p);
  return p;
};
const cli = (args: string[], env: Record<string, string> = {}) => runCli(args, { cwd, env: { AGENTMEM_BACKUP_KEY: KEY, ...env } });

beforeAll(async () => {
  await migrateAll({ ...cluster, servers: cluster.servers.slice(0, 2) });
  routed = await routedStore({ ...cluster, servers: cluster.servers.slice(0, 2) }, { tenant: 'tenant-a' });
  a = routed.memory;
  b = a.forTenant('tenant-b');
  cwd = mkdtempSync(join(tmpdir(), 'agentmem-backup-'));
  backupDir = join(cwd, 'backups');
  writeFileSync(
    join(cwd, 'agentmem.config.json'),
    JSON.stringify({
      providers: cluster.servers.slice(0, 2).map((s) => ({ name: s.name, url: s.url() })),
      backup: { destination: backupDir },
      replication: { enabled: false },
    }),
  );
}, 120_000);
afterAll(async () => {
  await routed?.close();
  for (const p of providers) await p.close();
});

/** A tenant's rows on a provider, as `sync verify` sees them (bucket checksums of every replicated table). */
async function tenantState(p: PgProvider, tenant: string, schema = 'agentmem'): Promise<string> {
  const parts: string[] = [];
  for (const table of REPLICATED_TABLES) {
    const sums = await p.transaction((tx) => bucketChecksums(tx, schema, table, tenant));
    parts.push(`${table.name}:${JSON.stringify([...sums].sort(([x], [y]) => x - y))}`);
  }
  return parts.join('|');
}

describe('backup and restore (PostgreSQL)', () => {
  it('undoes a bad delete for one tenant only, through the CLI: the restored state wins on every provider and sync verify is equal', async () => {
    const session = await a.sessions.create({ agentId: 'support', title: 'order 1234' });
    await a.sessions.addMessage(session.id, { role: 'user', content: 'my order is late' });
    await a.sessions.addMessage(session.id, { role: 'assistant', content: 'let me check' });
    const decision = await a.memories.remember({ type: 'decision', content: { refund: true } });
    await a.settings.set('agent', 'tone', 'friendly');
    await b.sessions.create({ agentId: 'b-agent', title: 'tenant b' });
    await runSync([provider('p1'), provider('p2')], new Replicator({ schema: 'agentmem' }));

    const created = await cli(['backup', 'create', '--json']);
    expect(created.code, created.stderr).toBe(0);
    const made = JSON.parse(created.stdout) as { backups: { ok: boolean; sidecar: { manifest: { id: string; encrypted: boolean } } }[] };
    expect(made.backups).toHaveLength(1);
    expect(made.backups[0]?.ok).toBe(true);
    expect(made.backups[0]?.sidecar.manifest.encrypted).toBe(true);
    const id = made.backups[0]?.sidecar.manifest.id as string;
    expect(created.stderr).toMatch(/"progress"/);

    const listed = JSON.parse((await cli(['backup', 'list', '--json'])).stdout) as {
      backups: { id: string; rows: number; verification: { ok: boolean } }[];
    };
    expect(listed.backups.map((x) => x.id)).toEqual([id]);
    expect(listed.backups[0]?.verification.ok).toBe(true);
    const tested = await cli(['backup', 'verify', id, '--restore-test', '--json']);
    expect(tested.code, tested.stderr).toBe(0);
    expect(JSON.parse(tested.stdout).restoreTest).toMatchObject({ ok: true, differingBuckets: 0 });

    // The mistakes: a deleted session, a forgotten decision, an overwritten setting, and a new memory made after the backup.
    await a.sessions.delete(session.id);
    await a.memories.forget(decision);
    await a.settings.set('agent', 'tone', 'rude');
    const later = await a.memories.remember({ type: 'context', content: 'written after the backup' });
    await b.sessions.create({ agentId: 'b-agent', title: 'tenant b, after the backup' });
    const bBefore = await tenantState(provider('p1'), 'tenant-b');

    const dry = await cli(['--tenant', 'tenant-a', 'restore', id, '--to', 'p1', '--dry-run', '--json']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({ dryRun: true, mode: 'rewind' });
    expect(await a.sessions.get(session.id)).toBeNull();

    const restored = await cli(['--tenant', 'tenant-a', 'restore', id, '--to', 'p1', '--json']);
    expect(restored.code, restored.stderr).toBe(0);
    const report = JSON.parse(restored.stdout) as { mode: string; tables: { table: string; restored: number; tombstoned: number }[] };
    expect(report.mode).toBe('rewind');
    expect(report.tables.find((t) => t.table === 'memories')?.tombstoned).toBe(1);

    expect((await a.sessions.load(session.id))?.messages.map((m) => m.content)).toEqual(['my order is late', 'let me check']);
    expect((await a.memories.get(decision))?.content).toEqual({ refund: true });
    expect(await a.memories.get(later)).toBeNull();
    expect(await a.forTenant('tenant-a').settings.get('agent', 'tone')).toBe('friendly');
    // The other tenant is untouched, to the byte.
    expect(await tenantState(provider('p1'), 'tenant-b')).toBe(bBefore);

    // The restore wins on p2 too, and every change of it is in the history, under the restore's name.
    await runSync([provider('p1'), provider('p2')], new Replicator({ schema: 'agentmem' }));
    expect((await verifyProviders([provider('p1'), provider('p2')], 'agentmem')).equal).toBe(true);
    const history = await a.history.changes(session.id);
    expect(history.map((h) => h.operation)).toEqual(['insert', 'delete', 'insert']);
    expect(history.at(-1)?.actor).toBe(`restore:${id}`);
    const shown = await cli(['--tenant', 'tenant-a', 'history', session.id, '--json']);
    expect(JSON.parse(shown.stdout).changes).toHaveLength(3);

    // Every provider, one tenant: one archive each, scoped to the tenant.
    const each = await cli(['--tenant', 'tenant-b', 'backup', 'create', '--all', '--json']);
    expect(each.code, each.stderr).toBe(0);
    const runs = JSON.parse(each.stdout).backups as { provider: string; ok: boolean; sidecar: { manifest: { tenant: string } } }[];
    expect(runs.map((r) => [r.provider, r.ok, r.sidecar.manifest.tenant])).toEqual([
      ['p1', true, 'tenant-b'],
      ['p2', true, 'tenant-b'],
    ]);
  });

  it('seeds an empty provider (versions kept: equal checksums); migrates an archive from an older schema after loading; refuses a newer one', async () => {
    const store = new LocalStore(backupDir);
    const p3 = provider('p3');
    // p3 at schema version 6, with rows written as that version's code wrote them.
    await new Migrator(p3, { schema: 'agentmem' }).up({ to: 6 });
    await p3.query(
      `INSERT INTO agentmem.sessions (tenant_id, id, agent_id, title, version, origin) VALUES ('old', $1, 'x', 'from v6', 10, 'p3')`,
      [randomUUID()],
    );
    const old = await createBackup(p3, { schema: 'agentmem', store });
    expect(old.manifest.schema.version).toBe(6);
    expect(old.manifest.tables.map((t) => t.name)).not.toContain('change_history');

    const p2 = provider('p2');
    const intoOld = await restoreBackup(p2, old.manifest.id, { schema: 'agentmem', store, embeddingDim: 384, tenant: 'old' });
    expect(intoOld).toMatchObject({ fromSchemaVersion: 6, toSchemaVersion: latestSchemaVersion(), mode: 'seed' });
    const { rows } = await p2.query<{ title: string; version: string }>(
      "SELECT title, version FROM agentmem.sessions WHERE tenant_id = 'old'",
    );
    expect(rows).toEqual([{ title: 'from v6', version: '10' }]);

    // A newer schema than the code: refused before anything is read.
    const sidecarFile = join(backupDir, `${old.manifest.id}.manifest.json`);
    const sidecar = JSON.parse(readFileSync(sidecarFile, 'utf8'));
    sidecar.manifest.schema.version = 99;
    writeFileSync(join(backupDir, 'future.manifest.json'), JSON.stringify({ ...sidecar, manifest: { ...sidecar.manifest, id: 'future' } }));
    await expect(restoreBackup(p2, 'future', { schema: 'agentmem', store, embeddingDim: 384 })).rejects.toMatchObject({
      code: 'BACKUP_SCHEMA',
    });
    await store.remove('future.manifest.json');

    // An empty provider seeded from p1's backup: the same checksums as the source.
    await new Migrator(p3, { schema: 'agentmem' }).up();
    const full = await createBackup(provider('p1'), { schema: 'agentmem', store, key: KEY });
    const seeded = await restoreBackup(p3, full.manifest.id, {
      schema: 'agentmem',
      store,
      key: KEY,
      embeddingDim: 384,
      tenant: 'tenant-a',
    });
    expect(seeded.mode).toBe('seed');
    expect(await tenantState(p3, 'tenant-a')).toBe(await tenantState(provider('p1'), 'tenant-a'));
  });

  it('brings a session and one memory back as they were at a time: from the history alone, and from a backup plus the history after it', async () => {
    const session = await a.sessions.create({ title: 'as-of' });
    await a.sessions.addMessage(session.id, { role: 'user', content: 'first' });
    const note = await a.memories.remember({ type: 'context', content: 'v1' });
    await a.atoms.upsert([{ atomId: 'asof:pump', atomType: 'concept', title: 'Pump', content: 'seal wear' }]);
    const atomBefore = await a.atoms.get('asof:pump');
    const direct = provider('p1');
    const embeddingOf = async (id: string) =>
      (
        await direct.query<{ e: number[] }>('SELECT embedding AS e FROM agentmem.knowledge_atoms WHERE tenant_id = $1 AND id = $2', [
          'tenant-a',
          id,
        ])
      ).rows[0]?.e;
    const embeddingBefore = await embeddingOf(atomBefore?.id as string);
    await new Promise((r) => setTimeout(r, 50));
    const before = new Date();
    await new Promise((r) => setTimeout(r, 50));
    await a.sessions.addMessage(session.id, { role: 'user', content: 'second' });
    await a.memories.forget(note);
    await a.atoms.upsert([{ atomId: 'asof:pump', atomType: 'concept', title: 'Pump', content: 'bearing noise' }]);
    // The history keeps an atom's embedding in a real[] column of its own (migration 0013), not in the
    // JSON row; a change reads back with it as its array literal, exactly.
    const atomChanges = await a.history.changes('asof:pump');
    expect(atomChanges).toHaveLength(2);
    expect(typeof atomChanges[0]?.after.embedding).toBe('string');
    const stored = await direct.query<{ json: string | null; column: number[] }>(
      `SELECT new_row->>'embedding' AS json, new_embedding AS column FROM agentmem.change_history
        WHERE tenant_id = $1 AND table_name = 'knowledge_atoms' AND record_key = $2 ORDER BY changed_at LIMIT 1`,
      [a.tenant, atomBefore?.id],
    );
    expect(stored.rows[0]).toEqual({ json: null, column: embeddingBefore });
    expect(String(atomChanges[0]?.after.embedding).slice(1, -1).split(',').map(Number)).toEqual(embeddingBefore);

    // Reads as of a time.
    expect((await a.sessions.getMessages(session.id, { asOf: before })).map((m) => m.content)).toEqual(['first']);
    expect((await a.memories.recall({ asOf: before, types: ['context'] })).map((m) => m.id)).toContain(note);
    const exported = await cli(['--tenant', 'tenant-a', 'session', 'export', session.id, '--as-of', before.toISOString()]);
    expect(JSON.parse(exported.stdout).messages.map((m: { content: string }) => m.content)).toEqual(['first']);

    // The session alone, back to that time: only it changes.
    const other = await a.memories.remember({ type: 'context', content: 'untouched' });
    const p1 = provider('p1');
    const store = new LocalStore(backupDir);
    const asOf = (options: { at: Date; session?: string; record?: string }) =>
      restoreAsOf(p1, { schema: 'agentmem', store, key: KEY, embeddingDim: 384, tenant: 'tenant-a', historyRetentionDays: 30, ...options });
    const bySession = await asOf({ at: before, session: session.id });
    expect(bySession.mode).toBe('rewind');
    expect((await a.sessions.getMessages(session.id)).map((m) => m.content)).toEqual(['first']);
    expect(await a.memories.get(note)).toBeNull();
    expect(await a.memories.get(other)).not.toBeNull();

    // One memory, from a backup taken before the time plus the history after it.
    const taken = await createBackup(p1, { schema: 'agentmem', store, key: KEY, tenant: 'tenant-a' });
    const byRecord = await asOf({ at: before, record: note });
    expect(byRecord.base).not.toBe(taken.manifest.id);
    expect((await a.memories.get(note))?.content).toBe('v1');
    await new Promise((r) => setTimeout(r, 50));
    const afterBackup = new Date();
    await a.memories.forget(note);
    const fromBackup = await asOf({ at: afterBackup, record: note });
    expect(fromBackup.base).toBe(taken.manifest.id);
    expect((await a.memories.get(note))?.content).toBe('v1');

    // An atom, from the history: its content and its embedding as they were.
    await asOf({ at: before, record: atomBefore?.id as string });
    expect((await a.atoms.get('asof:pump'))?.content).toBe('seal wear');
    expect(await embeddingOf(atomBefore?.id as string)).toEqual(embeddingBefore);
  });

  it('damaged archives — truncated, one flipped byte, wrong or missing key — give clear errors and restore nothing', async () => {
    const store = new LocalStore(backupDir);
    const p1 = provider('p1');
    const p3 = provider('p3');
    const made = await createBackup(p1, { schema: 'agentmem', store, key: KEY, tenant: 'tenant-b' });
    const id = made.manifest.id;
    const file = join(backupDir, `${id}.amb`);
    const original = readFileSync(file);
    const target = await tenantState(p3, 'tenant-b');
    const attempt = () => restoreBackup(p3, id, { schema: 'agentmem', store, key: KEY, embeddingDim: 384 });

    await expect(restoreBackup(p3, id, { schema: 'agentmem', store, embeddingDim: 384 })).rejects.toMatchObject({ code: 'BACKUP_KEY' });
    await expect(restoreBackup(p3, id, { schema: 'agentmem', store, key: 'another-key-0123456789', embeddingDim: 384 })).rejects.toThrow(
      /not the key/,
    );
    const flipped = Buffer.from(original);
    const at = Math.floor(flipped.length / 2);
    flipped[at] = (flipped[at] as number) ^ 0x01;
    writeFileSync(file, flipped);
    await expect(attempt()).rejects.toMatchObject({ code: 'BACKUP_CORRUPT' });
    expect((await verifyBackup(store, id, { key: KEY })).ok).toBe(false);
    writeFileSync(file, original);
    truncateSync(file, Math.floor(original.length * 0.6));
    await expect(attempt()).rejects.toMatchObject({ code: 'BACKUP_CORRUPT' });
    expect(await tenantState(p3, 'tenant-b')).toBe(target);
    writeFileSync(file, original);
    expect((await verifyBackup(store, id, { key: KEY })).ok).toBe(true);
  });

  it('reads format-1 (gzip) archives, writes brotli by default and gzip on request, refuses a header and manifest that disagree', async () => {
    await expectArchiveFormats(provider('p1'), provider('p3'), mkdtempSync(join(tmpdir(), 'agentmem-formats-')), 'tenant-b');
  });

  it('a server SIGKILLed mid-backup leaves no usable archive; mid-restore leaves the target as it was', async () => {
    const store = new LocalStore(join(cwd, 'kill-backups'));
    const p1 = provider('p1');
    await p1.query(
      `INSERT INTO agentmem.memories (tenant_id, id, memory_type, content, version, origin)
       SELECT 'bulk', gen_random_uuid(), 'context', jsonb_build_object('n', g, 'pad', repeat('x', 300)), 1, 'p1' FROM generate_series(1, 60000) g`,
      undefined,
      { timeoutMs: 120_000 },
    );
    const done = await createBackup(p1, { schema: 'agentmem', store, tenant: 'bulk' });
    let killed = false;
    const killing = createBackup(p1, {
      schema: 'agentmem',
      store,
      tenant: 'bulk',
      onProgress: (p) => {
        if (!killed && p.rows > 10_000) {
          killed = true;
          void cluster.server('p1').kill();
        }
      },
    });
    await expect(killing).rejects.toThrow();
    expect(killed).toBe(true);
    await cluster.server('p1').restart();
    const listing = await listBackups(store);
    expect(listing.backups.map((x) => x.id)).toEqual([done.manifest.id]);

    const p3 = provider('p3');
    const before = await tenantState(p3, 'bulk');
    let stopped = false;
    const restoring = restoreBackup(p3, done.manifest.id, {
      schema: 'agentmem',
      store,
      embeddingDim: 384,
      onProgress: (p) => {
        if (!stopped && p.rows > 10_000) {
          stopped = true;
          void cluster.server('p3').kill();
        }
      },
    });
    await expect(restoring).rejects.toThrow();
    await cluster.server('p3').restart();
    const fresh = new PgProvider(providerConfig(cluster.server('p3')));
    providers.push(fresh);
    expect(await tenantState(fresh, 'bulk')).toBe(before);
    const { rows } = await fresh.query("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'agentmem_restore_%'");
    expect(rows).toEqual([]);
    const again = await restoreBackup(fresh, done.manifest.id, { schema: 'agentmem', store, embeddingDim: 384 });
    expect(again.tables.find((t) => t.table === 'memories')?.restored).toBe(60_000);
  }, 240_000);

  it('a backup process killed mid-way leaves nothing usable; history --prune drops old changes everywhere; backup prune keeps the newest verified', async () => {
    const dir = join(cwd, 'killed-cli');
    const running = startCli(['backup', 'create', '--to', dir], { cwd, env: { AGENTMEM_BACKUP_KEY: KEY } });
    await running.waitForLog(/backup memories/, 60_000);
    running.kill('SIGKILL');
    await running.exited;
    const killed = await listBackups(new LocalStore(dir));
    expect(killed.backups).toEqual([]);
    // At most the temporary file of the interrupted write, never under an archive's name.
    expect(killed.incomplete.every((name) => name.startsWith('.incomplete-'))).toBe(true);

    await runSync([provider('p1'), provider('p2')], new Replicator({ schema: 'agentmem' }));
    for (const server of ['p1', 'p2'])
      cluster
        .server(server)
        .psql("UPDATE agentmem.change_history SET changed_at = now() - interval '40 days' WHERE tenant_id = 'tenant-b'");
    const dry = JSON.parse((await cli(['history', '--prune', '--dry-run', '--json'])).stdout) as {
      providers: { provider: string; pruned: number }[];
    };
    const counted = dry.providers.map((p) => p.pruned);
    expect(counted[0]).toBeGreaterThan(0);
    expect(new Set(counted).size).toBe(1);
    const pruned = await cli(['history', '--prune', '--json']);
    expect(pruned.code, pruned.stderr).toBe(0);
    // A tenant at a time on each provider, with progress.
    const steps = progressEvents(pruned.stderr).filter((e) => e.label.startsWith('pruning history on p1'));
    expect(steps.at(-1)).toMatchObject({ done: steps.at(-1)?.total });
    expect(steps.at(-1)?.total).toBeGreaterThan(0);
    expect(JSON.parse(pruned.stdout).providers.map((p: { pruned: number }) => p.pruned)).toEqual(counted);
    expect(cluster.server('p1').psql("SELECT count(*) FROM agentmem.change_history WHERE tenant_id = 'tenant-b'").trim()).toBe('0');
    expect((await verifyProviders([provider('p1'), provider('p2')], 'agentmem')).equal).toBe(true);

    const before = await listBackups(new LocalStore(backupDir));
    const newestVerified = before.backups.find((b) => b.verification?.ok)?.id;
    const plan = JSON.parse((await cli(['backup', 'prune', '--json'])).stdout) as { keep: { id: string }[]; remove: string[] };
    expect(plan.keep.map((k) => k.id)).toContain(newestVerified);
    const after = await listBackups(new LocalStore(backupDir));
    expect(after.backups.map((b) => b.id).sort()).toEqual(plan.keep.map((k) => k.id).sort());
    expect(after.backups.length + plan.remove.length).toBe(before.backups.length);
  }, 120_000);

  it('the monitor backs up on its schedule, verifies, runs the restore drill, and publishes both; a stale backup is an alert', async () => {
    const dir = join(cwd, 'scheduled');
    const config = await loadConfig({
      cwd: mkdtempSync(join(tmpdir(), 'agentmem-scheduled-')),
      env: {},
      overrides: {
        providers: [{ name: 'p2', url: cluster.server('p2').url() }],
        backup: { destination: dir, schedule: '*/2 * * * * *', drill: { schedule: '*/3 * * * * *' } },
        monitor: { history: { file: false } },
      },
    });
    const set = ProviderSet.fromConfig(config);
    const monitor = new Monitor(config, set, { intervalMs: 500, history: false, alerts: false, backups: true });
    monitor.start();
    const store = new LocalStore(dir);
    const deadline = Date.now() + 30_000;
    let drilled = false;
    while (Date.now() < deadline && !drilled) {
      await new Promise((r) => setTimeout(r, 500));
      drilled = (await listBackups(store)).backups.some((b) => b.verification?.restoreTest?.ok);
    }
    await monitor.stop();
    await set.close();
    expect(drilled).toBe(true);
    const metrics = await metricsRegistry.metrics();
    expect(metrics).toMatch(/agentmem_backup_last_success_timestamp_seconds\{provider="p2"\} \d/);
    expect(metrics).toMatch(/agentmem_restore_drill_success 1/);
    expect(metrics).toMatch(/agentmem_restore_drill_rto_seconds \d/);
    // The objectives the Prometheus rules compare with: the configured ones (defaults 24 h, 1 h).
    expect(metrics).toMatch(/agentmem_backup_rpo_seconds 86400\n/);
    expect(metrics).toMatch(/agentmem_restore_rto_target_seconds 3600\n/);

    const report = { checkedAt: new Date().toISOString(), state: 'healthy', reasons: [], providers: [] } as unknown as Parameters<
      typeof conditionsFrom
    >[0];
    const stale = conditionsFrom(report, config, {
      backups: 3,
      newestVerifiedAt: '2026-01-01T00:00:00.000Z',
      stale: true,
      drill: { ok: false, at: 'x', rtoSeconds: 1 },
    });
    expect(stale.map((c) => c.name).sort()).toEqual(['backup_stale', 'restore_drill_failed']);
    // A drill that restored, but slower than the RTO (backup.rtoMinutes, 60 by default), is a warning.
    const drill = (rtoSeconds: number) =>
      conditionsFrom(report, config, {
        backups: 3,
        newestVerifiedAt: new Date().toISOString(),
        stale: false,
        drill: { ok: true, at: 'x', rtoSeconds },
      });
    expect(drill(3599)).toEqual([]);
    expect(drill(3601)).toEqual([
      expect.objectContaining({
        name: 'restore_drill_slow',
        severity: 'warning',
        summary: expect.stringMatching(/3601 s .* RTO target of 60 min/),
      }),
    ]);
  }, 60_000);

  it('scheduled work never piles up: a backup asked for while one runs is skipped, and stop() starts nothing queued', async () => {
    const dir = join(cwd, 'coalesced');
    const config = await loadConfig({
      cwd: mkdtempSync(join(tmpdir(), 'agentmem-coalesced-')),
      env: {},
      overrides: { providers: [{ name: 'p2', url: cluster.server('p2').url() }], backup: { destination: dir } },
    });
    const set = ProviderSet.fromConfig(config);
    // Not started: each request is what one cron tick does.
    const scheduler = new BackupScheduler(config, set);
    try {
      expect(scheduler.request('backup')).toBe(true);
      // Its turn comes (the queue was empty): it starts (a dump and a verification: far longer than a tick).
      await new Promise((r) => setTimeout(r, 0));
      // The first backup is still running: another tick adds nothing.
      expect(scheduler.request('backup')).toBe(false);
      // Work of another kind queues behind it …
      expect(scheduler.request('drill')).toBe(true);
      // … and does not start once stopped; the backup under way finishes.
      await scheduler.stop();
      const { backups } = await listBackups(new LocalStore(dir));
      expect(backups).toHaveLength(1);
      expect(backups[0]?.verification?.ok).toBe(true);
      expect(backups[0]?.verification?.restoreTest).toBeUndefined();
      expect(scheduler.request('backup')).toBe(false);
      // A tick after the last run finished queues again (a fresh scheduler: this one is stopped).
      const again = new BackupScheduler(config, set);
      expect(again.request('drill')).toBe(true);
      await again.stop();
    } finally {
      await set.close();
    }
  }, 60_000);
});
