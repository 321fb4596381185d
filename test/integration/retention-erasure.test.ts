/**
 * Retention and erasure that stays erased (issue 19), on three real servers
 * through the CLI: policies expire memories through tombstones that replicate
 * (sync verify equal), legal holds suspend them, hard expiry leaves no
 * history; an erasure removes a user from every provider and the history, is
 * signed, and a restore of a backup made before it does not bring them back.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openMemory } from '../../src/memory/index.js';
import { DirectExecutor, PgProvider, Replicator } from '../../src/ops/index.js';
import { REPLICATED_TABLES } from '../../src/replication/index.js';
import { progressEvents, runCli, startCli } from '../harness/cli.js';
import { providerConfig } from '../harness/providers.js';
import { type RoutedStore, routedStore, useCluster } from '../harness/router-cluster.js';

const cluster = useCluster(3, { migrate: true });
let cwd: string;
let store: RoutedStore;
const DAY = 86_400_000;

beforeAll(async () => {
  cwd = mkdtempSync(join(tmpdir(), 'agentmem-retention-'));
  writeFileSync(
    join(cwd, 'agentmem.config.json'),
    JSON.stringify({
      providers: cluster.servers.map((s) => ({ name: s.name, url: s.url() })),
      replication: { enabled: false },
      retention: {
        types: { decision: { ttlDays: 30, mode: 'soft' }, log: { ttlDays: 7, mode: 'hard' } },
        tenants: { globex: { decision: { ttlDays: 365 } } },
        batchSize: 2,
      },
    }),
  );
  store = await routedStore(cluster, { tenant: 'acme' });
}, 120_000);
afterAll(async () => {
  await store?.close();
});

const cli = (args: string[]) => runCli(args, { cwd });
const json = async (args: string[]) => {
  const r = await cli([...args, '--json']);
  expect(r.code, r.stderr + r.stdout).toBe(0);
  return JSON.parse(r.stdout);
};
/** One number from every server (the same statement on each). */
const onEach = (sql: string) => cluster.servers.map((s) => Number(s.psql(sql).trim()));
const inList = (ids: string[]) => ids.map((id) => `'${id}'`).join(', ');

describe('retention', () => {
  it('expires by type and tenant policy through tombstones that replicate; holds keep; hard leaves no history', async () => {
    const acme = store.memory;
    const globex = acme.forTenant('globex');
    const old = new Date(Date.now() - 40 * DAY);
    const soft = [];
    for (let i = 0; i < 5; i++) soft.push(await acme.memories.remember({ type: 'decision', content: `old decision ${i}`, createdAt: old }));
    const hard = [];
    for (let i = 0; i < 3; i++) hard.push(await acme.memories.remember({ type: 'log', content: `old log ${i}`, createdAt: old }));
    const held = await acme.memories.remember({ type: 'decision', content: 'held decision', userId: 'u-held', createdAt: old });
    const fresh = await acme.memories.remember({ type: 'decision', content: 'fresh decision' });
    const keptByOverride = await globex.memories.remember({ type: 'decision', content: 'globex keeps a year', createdAt: old });
    expect((await cli(['sync', 'run'])).code).toBe(0);

    const dry = await json(['retention', 'run', '--dry-run']);
    const acmeDry = dry.tenants.find((t: { tenant: string }) => t.tenant === 'acme');
    expect(acmeDry.types.find((t: { type: string }) => t.type === 'decision')).toMatchObject({ expired: 6, held: 0, mode: 'soft' });
    expect(onEach(`SELECT count(*) FROM agentmem.memories WHERE deleted_at IS NOT NULL`)).toEqual([0, 0, 0]);

    expect((await cli(['--tenant', 'acme', 'retention', 'hold', '--user', 'u-held', '--reason', 'litigation 42'])).code).toBe(0);
    const holds = await json(['--tenant', 'acme', 'retention', 'holds']);
    expect(holds.holds).toEqual([expect.objectContaining({ key: 'user:u-held', reason: 'litigation 42' })]);

    const run = await json(['retention', 'run']);
    const types = run.tenants.find((t: { tenant: string }) => t.tenant === 'acme').types;
    expect(types.find((t: { type: string }) => t.type === 'decision')).toMatchObject({ expired: 5, held: 1, mode: 'soft', ttlDays: 30 });
    expect(types.find((t: { type: string }) => t.type === 'log')).toMatchObject({ expired: 3, held: 0, mode: 'hard', ttlDays: 7 });
    expect(run.tenants.find((t: { tenant: string }) => t.tenant === 'globex').types[0]).toMatchObject({
      type: 'decision',
      expired: 0,
      ttlDays: 365,
    });
    expect(run.totals).toEqual({ expired: 8, held: 1, checkpoints: 0 });

    // The tombstones replicate: every provider holds them, and the copies are equal.
    expect((await cli(['sync', 'run'])).code).toBe(0);
    expect((await cli(['sync', 'verify'])).code).toBe(0);
    const gone = [...soft, ...hard];
    expect(
      onEach(
        `SELECT count(*) FROM agentmem.memories WHERE id IN (${inList(gone)}) AND deleted_at IS NOT NULL AND content IS NULL OR id IN (${inList(gone)}) AND content = 'null'::jsonb`,
      ),
    ).toEqual([8, 8, 8]);
    expect(
      onEach(`SELECT count(*) FROM agentmem.memories WHERE id IN (${inList([held, fresh, keptByOverride])}) AND deleted_at IS NULL`),
    ).toEqual([3, 3, 3]);
    // Soft: the content stays in the change history (restorable for its window); hard: no history at all, anywhere.
    expect(onEach(`SELECT count(*) FROM agentmem.change_history WHERE record_key IN (${inList(hard)})`)).toEqual([0, 0, 0]);
    expect(
      Number(
        cluster.servers[0]
          ?.psql(
            `SELECT count(*) FROM agentmem.change_history WHERE record_key IN (${inList(soft)}) AND old_row->>'content' LIKE '%old decision%'`,
          )
          .trim(),
      ),
    ).toBe(5);
    expect((await acme.memories.recall({ types: ['decision', 'log'], limit: 100 })).map((m) => m.id).sort()).toEqual([held, fresh].sort());

    // Lifting the hold lets the next run expire it; a second run finds nothing more.
    expect((await cli(['--tenant', 'acme', 'retention', 'release', '--user', 'u-held'])).code).toBe(0);
    expect((await json(['retention', 'run'])).totals).toEqual({ expired: 1, held: 0, checkpoints: 0 });
    expect((await json(['retention', 'run'])).totals).toEqual({ expired: 0, held: 0, checkpoints: 0 });
  });
});

describe('retention in the monitor, and facts through the CLI', () => {
  it('the monitor expires what the policies say at start and logs what it did', async () => {
    const acme = store.memory;
    const stale = await acme.memories.remember({
      type: 'log',
      content: 'stale log for the monitor',
      createdAt: new Date(Date.now() - 9 * DAY),
    });
    expect((await cli(['sync', 'run'])).code).toBe(0);
    const monitor = startCli(['monitor', '--interval', '1s', '--no-alerts', '--no-backups'], { cwd });
    try {
      const line = await monitor.waitForLog(/"msg":"retention run"/, 30_000);
      expect(JSON.parse(line).expired).toBeGreaterThanOrEqual(1);
    } finally {
      expect((await monitor.stop('SIGTERM')).code).toBe(0);
    }
    expect(await acme.memories.get(stale)).toBeNull();
  });

  it('memory add --supersedes, memory search (current facts, --as-of, --all-versions), memory dedupe', async () => {
    const t = ['--tenant', 'facts'];
    const first = (await json([...t, 'memory', 'add', '--type', 'decision', '--content', 'release weekly'])).id as string;
    // The same fact again is the same memory.
    expect((await json([...t, 'memory', 'add', '--type', 'decision', '--content', 'Release  weekly'])).id).toBe(first);
    await new Promise((r) => setTimeout(r, 50));
    const between = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 50));
    const second = (await json([...t, 'memory', 'add', '--type', 'decision', '--content', 'release daily', '--supersedes', first])).id;
    expect((await json([...t, 'memory', 'search', '--type', 'decision'])).map((m: { id: string }) => m.id)).toEqual([second]);
    expect((await json([...t, 'memory', 'search', '--type', 'decision', '--as-of', between])).map((m: { id: string }) => m.id)).toEqual([
      first,
    ]);
    expect((await json([...t, 'memory', 'search', '--type', 'decision', '--all-versions'])).length).toBe(2);
    const again = await cli([...t, 'memory', 'add', '--type', 'decision', '--content', 'x', '--supersedes', first]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already superseded/);
    const dry = await json([...t, 'memory', 'dedupe', '--dry-run']);
    expect(dry).toMatchObject({ tenant: 'facts', dryRun: true, exact: { groups: 0, merged: 0 } });
  });
});

describe('facts across providers', () => {
  it('the same fact written on two providers at once is one memory once they replicate; a supersession converges', async () => {
    const [p1, p2] = ['p1', 'p2'].map((n) => new PgProvider(providerConfig(cluster.server(n)))) as [PgProvider, PgProvider];
    try {
      const on = (p: PgProvider) => openMemory({ config: store.config, executor: new DirectExecutor(p), tenant: 'converge' });
      const [a, b] = await Promise.all([
        on(p1).memories.remember({ type: 'context', content: 'Office moves to Berlin in May' }),
        on(p2).memories.remember({ type: 'context', content: 'office moves to berlin in may' }),
      ]);
      expect(a).toBe(b);
      const next = await on(p2).memories.remember({ type: 'context', content: 'office moves to Munich in June', supersedes: a });
      expect((await cli(['sync', 'run'])).code).toBe(0);
      expect((await cli(['sync', 'verify'])).code).toBe(0);
      expect(onEach(`SELECT count(*) FROM agentmem.memories WHERE tenant_id = 'converge' AND deleted_at IS NULL`)).toEqual([2, 2, 2]);
      expect(
        onEach(`SELECT count(*) FROM agentmem.memories WHERE tenant_id = 'converge' AND id = '${a}' AND superseded_by = '${next}'`),
      ).toEqual([1, 1, 1]);
      expect((await on(p1).memories.recall({ types: ['context'] })).map((m) => m.id)).toEqual([next]);
    } finally {
      await Promise.all([p1.close(), p2.close()]);
    }
  });
});

describe('erase', () => {
  it('removes a user from every provider and the history, signs the report, and no restore brings them back', async () => {
    const acme = store.memory;
    const alice = await acme.sessions.create({ userId: 'alice', title: 'alice private' });
    await acme.sessions.addMessage(alice.id, { role: 'user', content: 'my card number is 4111' });
    const aliceFact = await acme.memories.remember({ type: 'context', content: 'alice lives at 1 Elm St', userId: 'alice' });
    const inHerSession = await acme.memories.remember({ type: 'action', content: 'sent alice a refund', sessionId: alice.id });
    const bob = await acme.sessions.create({ userId: 'bob', title: 'bob' });
    const bobFact = await acme.memories.remember({ type: 'context', content: 'bob prefers email', userId: 'bob' });
    await acme.sessions.addMessage(bob.id, { role: 'user', content: 'hello from bob' });
    expect((await cli(['sync', 'run'])).code).toBe(0);
    const backup = await json(['backup', 'create']);
    const backupId = backup.backups[0].sidecar.manifest.id as string;
    // Every row of alice's, each named (kind, tenant, id or key, version), and how many there are. (Her card
    // number is looked for in content only: a row's version, a clock reading, may hold the digits 4111.)
    const aliceRowList = `SELECT 'session ' || tenant_id || ' ' || id || ' v' || version AS r FROM agentmem.sessions WHERE user_id = 'alice'
      UNION ALL SELECT 'memory ' || tenant_id || ' ' || id || ' ' || memory_type || ' v' || version FROM agentmem.memories
       WHERE user_id = 'alice' OR id IN ('${aliceFact}', '${inHerSession}') OR session_id = '${alice.id}'
      UNION ALL SELECT 'history ' || tenant_id || ' ' || table_name || ' ' || record_key || ' v' || row_version || ' ' || operation
        FROM agentmem.change_history WHERE table_name IN ('sessions', 'memories')
         AND (new_row::text LIKE '%alice%' OR old_row::text LIKE '%alice%' OR (new_row->'content')::text LIKE '%4111%')`;
    const aliceRows = `SELECT count(*) FROM (${aliceRowList}) alice`;
    expect(onEach(aliceRows).every((n) => n > 0)).toBe(true);

    // A legal hold refuses the erasure; nothing changes.
    expect((await cli(['--tenant', 'acme', 'retention', 'hold', '--user', 'alice'])).code).toBe(0);
    const refused = await cli(['--tenant', 'acme', 'erase', '--user', 'alice', '--yes']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/legal hold/);
    expect((await cli(['--tenant', 'acme', 'retention', 'release', '--user', 'alice'])).code).toBe(0);
    // Without --yes it is a usage error.
    expect((await cli(['--tenant', 'acme', 'erase', '--user', 'alice'])).code).toBe(2);

    const dry = await json(['--tenant', 'acme', 'erase', '--user', 'alice', '--dry-run']);
    expect(dry.report.ledgerId).toBeNull();
    expect(dry.report.removed.p1.sessions).toBe(1);
    expect(onEach(aliceRows).every((n) => n > 0)).toBe(true);

    // A copy of alice's fact as replication would carry it (for the in-flight check below).
    const memoriesTable = REPLICATED_TABLES.find((t) => t.name === 'memories') as (typeof REPLICATED_TABLES)[number];
    const inFlight = (id: string) =>
      cluster
        .server('p2')
        .psql(`SELECT ${memoriesTable.rowJson('m')}::text || '|' || version FROM agentmem.memories m WHERE id = '${id}'`)
        .trim()
        .split('|');
    const [aliceJson, aliceVersion] = inFlight(aliceFact);
    const beforeErasure = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 20));
    const reportFile = join(cwd, 'alice-erasure.json');
    const erased = await cli(['--tenant', 'acme', 'erase', '--user', 'alice', '--yes', '--report', reportFile, '--json']);
    expect(erased.code, erased.stderr).toBe(0);
    const signed = JSON.parse(erased.stdout);
    expect(signed.report).toMatchObject({ subject: 'user', subjectId: 'alice', verified: true });
    // Each step over the three providers, with progress.
    const steps = progressEvents(erased.stderr);
    for (const step of ['recording the erasure', 'erasing', 'erasing what replication brought', 'comparing checksums'])
      expect(steps.filter((e) => e.label === step).at(-1), step).toMatchObject({ done: 3, total: 3 });
    for (const p of ['p1', 'p2', 'p3']) {
      expect(signed.report.removed[p]).toMatchObject({ sessions: 1, memories: 3 });
      expect(signed.report.remaining[p]).toBe(0);
    }
    // Failed once under CI load (2 rows on each provider, the report's `remaining` 0): if it does again, say which rows.
    const leftCounts = onEach(aliceRows);
    const left = leftCounts.some((n) => n > 0) ? cluster.servers.map((s) => `${s.name}: ${s.psql(aliceRowList).trim()}`) : [];
    expect(leftCounts, `left after the erasure (floor v${signed.report.erasedVersion}): ${left.join(' | ')}`).toEqual([0, 0, 0]);
    // A copy that was in flight when she was erased (a replicator that read it before) is refused where it lands.
    const p2 = new PgProvider(providerConfig(cluster.server('p2')));
    try {
      const replicator = new Replicator({ schema: 'agentmem' });
      expect(
        await replicator.applyRows(p2, memoriesTable, [{ json: aliceJson as string, version: aliceVersion as string }], { force: true }),
      ).toBe(0);
      const [bobJson, bobVersion] = inFlight(bobFact);
      expect(
        await replicator.applyRows(p2, memoriesTable, [{ json: bobJson as string, version: bobVersion as string }], { force: true }),
      ).toBe(1);
    } finally {
      await p2.close();
    }
    expect(onEach(aliceRows)).toEqual([0, 0, 0]);
    // Bob is untouched; the providers agree.
    expect((await acme.sessions.getMessages(bob.id)).map((m) => m.content)).toEqual(['hello from bob']);
    expect((await cli(['sync', 'verify'])).code).toBe(0);

    // The report is signed: it checks out, and any change to it does not.
    expect((await cli(['erasures', 'verify', reportFile])).code).toBe(0);
    const key = await cli(['erasures', 'key']);
    writeFileSync(join(cwd, 'public.pem'), key.stdout);
    expect((await cli(['erasures', 'verify', reportFile, '--public-key', join(cwd, 'public.pem')])).code).toBe(0);
    const tampered = JSON.parse(readFileSync(reportFile, 'utf8'));
    tampered.report.removed.p1.memories = 0;
    writeFileSync(join(cwd, 'tampered.json'), JSON.stringify(tampered));
    const bad = await cli(['erasures', 'verify', join(cwd, 'tampered.json')]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/INVALID/);
    const ledger = await json(['--tenant', 'acme', 'erasures', 'list']);
    expect(ledger.erasures).toEqual([expect.objectContaining({ id: signed.report.ledgerId, subject: 'user', subjectId: 'alice' })]);

    // Restore the backup made before the erasure: into a used provider (a rewind) …
    const rewound = await json(['--tenant', 'acme', 'restore', backupId, '--to', 'p2']);
    expect(rewound.mode).toBe('rewind');
    expect(rewound.erased.sessions + rewound.erased.memories).toBeGreaterThan(0);
    // … and into a provider whose data is gone (schema dropped: its own ledger with it), seeded straight from the archive.
    cluster.server('p3').psql('DROP SCHEMA agentmem CASCADE');
    const seeded = await json(['restore', backupId, '--to', 'p3']);
    expect(seeded.mode).toBe('seed');
    expect(seeded.erased.sessions).toBe(1);
    // … and the tenant as it was just before the erasure (that backup plus the change history after it).
    const asOf = await json(['--tenant', 'acme', 'restore', '--as-of', beforeErasure, '--to', 'p1']);
    expect(asOf.base).toBe(backupId);
    expect((await cli(['sync', 'run'])).code).toBe(0);
    expect(onEach(aliceRows)).toEqual([0, 0, 0]);
    expect(onEach(`SELECT count(*) FROM agentmem.erasures WHERE subject_id = 'alice' AND report IS NOT NULL`)).toEqual([1, 1, 1]);
    expect((await acme.sessions.getMessages(bob.id)).map((m) => m.content)).toEqual(['hello from bob']);
    expect((await cli(['sync', 'verify'])).code).toBe(0);
  });

  it('erases a session, and a whole tenant, everywhere', async () => {
    const globex = store.memory.forTenant('globex');
    const s = await globex.sessions.create({ title: 'to erase' });
    await globex.sessions.addMessage(s.id, { role: 'user', content: 'erase me' });
    const keep = await globex.sessions.create({ title: 'to keep' });
    await globex.settings.set('app', 'theme', 'dark');
    expect((await cli(['sync', 'run'])).code).toBe(0);
    const one = await json(['--tenant', 'globex', 'erase', '--session', s.id, '--yes']);
    expect(one.report).toMatchObject({ verified: true, subject: 'session' });
    expect(onEach(`SELECT count(*) FROM agentmem.memories WHERE session_id = '${s.id}'`)).toEqual([0, 0, 0]);
    expect(onEach(`SELECT count(*) FROM agentmem.sessions WHERE id = '${keep.id}'`)).toEqual([1, 1, 1]);

    const all = await json(['--tenant', 'globex', 'erase', '--yes']);
    expect(all.report).toMatchObject({ verified: true, subject: 'tenant' });
    for (const table of ['sessions', 'memories', 'settings', 'change_history'])
      expect(onEach(`SELECT count(*) FROM agentmem.${table} WHERE tenant_id = 'globex'`), table).toEqual([0, 0, 0]);
    // Only the ledger remembers the tenant: what was erased, when, by whom.
    expect(onEach(`SELECT count(*) FROM agentmem.erasures WHERE tenant_id = 'globex'`)).toEqual([2, 2, 2]);
  });
});
