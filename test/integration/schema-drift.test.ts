import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemory, loadConfig, metricsRegistry, ProviderUnavailableError, QueryError } from '../../src/index.js';
import { diffSchema, fixSchema, Migrator, PgProvider } from '../../src/ops/index.js';
import { runCli } from '../harness/cli.js';
import { providerConfig } from '../harness/providers.js';
import { useCluster } from '../harness/router-cluster.js';

const cluster = useCluster(3, { migrate: true });
let cwd: string;
const providers: PgProvider[] = [];
const provider = (name: string) => {
  const p = new PgProvider(providerConfig(cluster.server(name), { name }));
  providers.push(p);
  return p;
};
const options = { schema: 'agentmem' };
const cli = (...args: string[]) => runCli(args, { cwd });

beforeAll(async () => {
  cwd = mkdtempSync(join(tmpdir(), 'agentmem-drift-'));
  writeFileSync(
    join(cwd, 'agentmem.config.json'),
    JSON.stringify({ providers: cluster.servers.map((s) => ({ name: s.name, url: s.url() })) }),
  );
});
afterAll(async () => {
  await Promise.all(providers.map((p) => p.close()));
});

/** A new, empty database on p1, and a config naming it as the only provider. */
async function emptyDatabase(name: string) {
  cluster.server('p1').psql(`CREATE DATABASE ${name}`);
  const url = cluster.server('p1').url({ database: name });
  const config = await loadConfig({
    cwd: mkdtempSync(join(tmpdir(), `agentmem-${name}-`)),
    env: {},
    overrides: { providers: [{ name: 'p1', url }] },
  });
  return { url, config };
}

/** How many schema drift checks the router has run on provider `name` (every result), from its metrics. */
async function driftChecks(name: string): Promise<number> {
  const values = (await metricsRegistry.getSingleMetric('agentmem_schema_drift_checks_total')?.get())?.values ?? [];
  return values.filter((v) => v.labels.provider === name).reduce((n, v) => n + v.value, 0);
}

/** The CHECK the outage started with: the old five memory types, without session_metadata and the message types. */
const OLD_CHECK = `ALTER TABLE agentmem.memories DROP CONSTRAINT memories_memory_type_check,
  ADD CONSTRAINT memories_memory_type_check CHECK (memory_type IN ('context', 'decision', 'action', 'issue', 'log'))`;

describe('schema drift', () => {
  it('freshly migrated servers have no drift', async () => {
    for (const name of ['p1', 'p2', 'p3']) expect((await diffSchema(provider(name), options)).items).toEqual([]);
    const result = await cli('schema', 'diff');
    expect(result.code).toBe(0);
  });

  it('finds the old 5-value CHECK on exactly one server, fixes only that server, and a session save works there', async () => {
    cluster.server('p2').psql(OLD_CHECK);
    // Some other drift on p3, which fixing p2 must leave alone.
    cluster.server('p3').psql('DROP INDEX agentmem.sessions_user_idx');

    const diff = await cli('schema', 'diff', '--json');
    expect(diff.code).toBe(1);
    const reports = JSON.parse(diff.stdout).providers as {
      provider: string;
      items: { object: string; kind: string; change: string; severity: string; fix: string[] }[];
    }[];
    const byName = Object.fromEntries(reports.map((r) => [r.provider, r.items]));
    expect(byName.p1).toEqual([]);
    expect(byName.p2).toHaveLength(1);
    expect(byName.p2?.[0]).toMatchObject({
      object: 'memories.memories_memory_type_check',
      kind: 'constraint',
      change: 'changed',
      severity: 'blocking',
    });
    expect(byName.p2?.[0]?.fix.join(';')).toContain('session_metadata');
    expect(byName.p3?.map((i) => i.object)).toEqual(['sessions.sessions_user_idx']);

    // Writes of the code's types fail there, as in the outage.
    // A store on p2 alone (its own directory: the config file here names all three).
    const config = await loadConfig({
      cwd: mkdtempSync(join(tmpdir(), 'agentmem-p2-')),
      env: {},
      overrides: { providers: [{ name: 'p2', url: cluster.server('p2').url() }] },
    });
    const onP2 = await createMemory({ workers: false, config, tenant: 'drift' });
    try {
      // The router will not send writes to a provider with blocking drift, and says why.
      const refused = await onP2.memories.remember({ type: 'session_metadata', content: { title: 'x' } }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(ProviderUnavailableError);
      expect((refused as Error).message).toMatch(/blocking schema drift \(p2: constraint memories.memories_memory_type_check changed\)/);
      expect(onP2.router?.state()[0]?.drift).toMatch(/memories_memory_type_check/);
      // Straight to the database (no router), the write fails as it did in the outage.
      await expect(
        provider('p2').query(
          "INSERT INTO agentmem.memories (tenant_id, id, memory_type, content, version, origin) VALUES ('t', gen_random_uuid(), 'session_metadata', '{}', 1, 'x')",
        ),
      ).rejects.toBeInstanceOf(QueryError);
      const status = JSON.parse((await cli('status', '--json')).stdout);
      expect(status.providers.find((p: { name: string }) => p.name === 'p2').drift).toMatchObject({ blocking: true });

      const dry = await cli('schema', 'fix', '--provider', 'p2', '--dry-run');
      expect(dry.code).toBe(0);
      expect(dry.stdout).toMatch(/would apply 2 statement\(s\)/);
      expect(dry.stdout).toMatch(/ADD CONSTRAINT memories_memory_type_check CHECK/);
      expect((await diffSchema(provider('p2'), options)).items).toHaveLength(1); // nothing changed

      const needsYes = await cli('schema', 'fix', '--provider', 'p2');
      expect(needsYes.code).toBe(2);

      const fixed = await cli('schema', 'fix', '--provider', 'p2', '--yes');
      expect(fixed.code).toBe(0);
      expect(fixed.stdout).toMatch(/verified: no drift left/);
      expect((await diffSchema(provider('p2'), options)).items).toEqual([]);
      expect((await diffSchema(provider('p3'), options)).items.map((i) => i.object)).toEqual(['sessions.sessions_user_idx']);

      await onP2.router?.checkDrift(); // what the router does every router.driftCheckMs
      const session = await onP2.sessions.create({ agentId: 'after-fix' });
      await onP2.memories.remember({ type: 'session_metadata', content: { title: 'saved' }, sessionId: session.id });
      const saved = await onP2.sessions.save({ session: { id: session.id }, messages: [{ role: 'user', content: 'works now' }] });
      expect(saved.inserted).toBe(1);
    } finally {
      await onP2.close();
    }
    await fixSchema(provider('p3'), options);
  });

  it('a provider out of the router while its schema is migrated is looked at again: the drift found before is not kept', async () => {
    const { url, config } = await emptyDatabase('drift_fresh');
    const memory = await createMemory({ workers: false, config, tenant: 'drift', migrate: false });
    try {
      const router = memory.router!;
      await router.checkDrift();
      expect(router.state()[0]?.drift).toMatch(/pending/);
      // Its breaker open (here: taken out by hand) while the migration runs and the router looks again, as
      // `createMemory({ workers: false, migrate: true })` does after migrating.
      const release = router.health('p1').isolate();
      const direct = new PgProvider(providerConfig(cluster.server('p1'), { name: 'p1', url }));
      providers.push(direct);
      await new Migrator(direct, options).up();
      await router.checkDrift();
      release();
      expect(router.state()[0]?.drift).toBeUndefined();
      await memory.settings.set('test', 'after-migration', 'writes');
      expect(await memory.settings.get('test', 'after-migration')).toBe('writes');
    } finally {
      await memory.close();
    }
  });

  it('createMemory({ workers: false, migrate: true }) on an empty database: the router looks at the schema once it is migrated, reporting no drift', async () => {
    const { config } = await emptyDatabase('drift_empty');
    const checksBefore = await driftChecks('p1');
    const memory = await createMemory({ workers: false, config, tenant: 'drift', migrate: true });
    const events: { type: string }[] = [];
    memory.router?.on('event', (event: { type: string }) => events.push(event));
    try {
      // Straight through the router (not the memory API, which waits for the migration itself): the write
      // gate opens once the migration and the look after it are done, on the migrated schema.
      const counted = await memory.router?.write('test.first-write', (tx) => tx.query('SELECT count(*) AS n FROM agentmem.settings'));
      expect(Number(counted?.rows[0]?.n)).toBe(0);
      await memory.settings.set('test', 'first', 1);
      expect(await memory.settings.get('test', 'first')).toBe(1);
      // The look before the migration would have reported its pending migrations as drift, then cleared it.
      expect(events.filter((e) => e.type === 'drift' || e.type === 'drift-cleared')).toEqual([]);
      expect(memory.router?.state()[0]?.drift).toBeUndefined();
      // One look at the catalog, shared by the router's first look and the memory API's look after the
      // migration (each read every provider's catalog before, one after the other, ahead of the first call).
      expect(await driftChecks('p1')).toBe(checksBefore + 1);
    } finally {
      await memory.close();
    }
  });

  it('closed while its migration runs: nothing is thrown, and the next createMemory({ workers: false, migrate: true }) finishes the schema', async () => {
    const { url, config } = await emptyDatabase('drift_closed');
    // Closed at once: the migration (started with the router) is cut short between two migrations.
    await (await createMemory({ workers: false, config, tenant: 'drift', migrate: true })).close();
    const memory = await createMemory({ workers: false, config, tenant: 'drift', migrate: true });
    try {
      await memory.settings.set('test', 'after-close', true);
      expect(await memory.settings.get('test', 'after-close')).toBe(true);
      expect(memory.router?.state()[0]?.drift).toBeUndefined();
      const direct = new PgProvider(providerConfig(cluster.server('p1'), { name: 'p1', url }));
      providers.push(direct);
      expect((await diffSchema(direct, options)).items).toEqual([]);
    } finally {
      await memory.close();
    }
  });

  it('detects and fixes a missing index, a changed default, a missing RLS policy and an unexpected constraint', async () => {
    const p1 = cluster.server('p1');
    p1.psql(`DROP INDEX agentmem.memories_type_idx;
      ALTER TABLE agentmem.sessions ALTER COLUMN metadata SET DEFAULT '{"x": 1}'::jsonb;
      DROP POLICY tenant_isolation ON agentmem.settings;
      ALTER TABLE agentmem.memories ADD CONSTRAINT short_content CHECK (length(content::text) < 100)`);
    const report = await diffSchema(provider('p1'), options);
    const found = Object.fromEntries(report.items.map((i) => [i.object, [i.kind, i.change, i.severity]]));
    expect(found).toEqual({
      'memories.memories_type_idx': ['index', 'missing', 'warning'],
      'sessions.metadata (default)': ['column', 'changed', 'warning'],
      'settings.tenant_isolation': ['policy', 'missing', 'error'],
      'memories.short_content': ['constraint', 'unexpected', 'blocking'],
    });
    expect(report.blocking).toBe(true);
    const result = await fixSchema(provider('p1'), options);
    expect(result.applied).toHaveLength(4);
    expect(result.after?.items).toEqual([]);
  });

  it('refuses to drop an unexpected column that holds data unless told', async () => {
    const p3 = cluster.server('p3');
    p3.psql(`ALTER TABLE agentmem.settings ADD COLUMN legacy_note text;
      INSERT INTO agentmem.settings (tenant_id, category, key, id, value, version, origin, legacy_note)
      VALUES ('t', 'c', 'k', gen_random_uuid(), '1', 1, 'p3', 'keep me')`);
    const refused = await fixSchema(provider('p3'), options);
    expect(refused.refused.map((i) => i.object)).toEqual(['settings.legacy_note']);
    expect(p3.psql("SELECT legacy_note FROM agentmem.settings WHERE key = 'k'").trim()).toBe('keep me');
    const cliRefused = await cli('schema', 'fix', '--provider', 'p3', '--yes');
    expect(cliRefused.code).toBe(1);
    expect(cliRefused.stdout).toMatch(/REFUSED \(destructive/);
    const forced = await fixSchema(provider('p3'), { ...options, allowDestructive: true });
    expect(forced.after?.items).toEqual([]);
  });
});
