import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MigrationError } from '../../src/index.js';
import { loadMigrations, Migrator, type PgProvider } from '../../src/ops/index.js';
import { DEFAULT_MIGRATIONS_DIR } from '../../src/schema/index.js';
import { runCli } from '../harness/cli.js';
import { pgProvider } from '../harness/providers.js';
import { useCluster } from '../harness/router-cluster.js';

const cluster = useCluster(3);
const opened: PgProvider[] = [];
const provider = (index: number) => {
  const p = pgProvider(cluster.servers[index] as never);
  opened.push(p);
  return p;
};

afterAll(async () => {
  await Promise.all(opened.map((p) => p.close()));
});

async function tables(p: PgProvider, schema: string): Promise<string[]> {
  const { rows } = await p.query<{ name: string }>(
    "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE' ORDER BY 1",
    [schema],
  );
  return rows.map((r) => r.name);
}

describe('migrator on real PostgreSQL servers', () => {
  it('applies the shipped migrations on three servers and reports them', async () => {
    for (const index of [0, 1, 2]) {
      const p = provider(index);
      const migrator = new Migrator(p, { schema: 'agentmem' });
      const before = await migrator.status();
      expect(before.current).toBe(0);
      expect(before.pending.length).toBe(loadMigrations().length);
      const run = await migrator.up();
      expect(run.steps.map((s) => s.version)).toEqual(loadMigrations().map((m) => m.version));
      const after = await migrator.status();
      expect(after.ok).toBe(true);
      expect(after.current).toBe(after.latest);
      expect(after.applied.every((a) => a.state === 'applied' && a.checksum.length === 64 && a.durationMs >= 0)).toBe(true);
      expect(await tables(p, 'agentmem')).toEqual([
        'change_history',
        'checkpoint_blobs',
        'checkpoint_writes',
        'checkpoints',
        'embedding_claims',
        'embedding_staging',
        'erasures',
        'formation_claims',
        'knowledge_atoms',
        'memories',
        'replication_watermarks',
        'schema_versions',
        'sessions',
        'settings',
      ]);
      // Running again applies nothing.
      expect((await migrator.up()).steps).toEqual([]);
    }
  });

  it('serialises 10 concurrent migrators: each migration applied exactly once, none errors', async () => {
    const schema = 'concurrent';
    const providers = Array.from({ length: 10 }, () => provider(0));
    const runs = await Promise.all(providers.map((p) => new Migrator(p, { schema }).up()));
    const applied = runs.flatMap((r) => r.steps.map((s) => s.version)).sort((a, b) => a - b);
    expect(applied).toEqual(loadMigrations().map((m) => m.version));
    const { rows } = await providers[0]!.query<{ version: number; n: string }>(
      `SELECT version, count(*)::text AS n FROM ${schema}.schema_versions GROUP BY version`,
    );
    expect(rows.every((r) => r.n === '1')).toBe(true);
    expect(rows.length).toBe(loadMigrations().length);
  });

  it('migrates two schemas of one fresh database at once: the extensions each creates are created once', async () => {
    // A database with no extension yet: each schema's first migration creates pgvector (and a
    // later one btree_gin). Run at the same moment, one of them used to fail on the other's.
    const server = cluster.servers[1]!;
    const admin = pgProvider(server);
    opened.push(admin);
    await admin.query('CREATE DATABASE two_schemas');
    const [one, two] = ['one', 'two'].map(() => {
      const p = pgProvider(server, { url: server.url({ database: 'two_schemas' }) });
      opened.push(p);
      return p;
    });
    const runs = await Promise.all([new Migrator(one!, { schema: 'app_one' }).up(), new Migrator(two!, { schema: 'app_two' }).up()]);
    for (const run of runs) expect(run.current).toBe(loadMigrations().at(-1)!.version);
    const { rows } = await one!.query<{ extname: string }>('SELECT extname FROM pg_extension ORDER BY 1');
    expect(rows.map((r) => r.extname)).toEqual(['btree_gin', 'plpgsql', 'vector']);
    expect(await tables(one!, 'app_one')).toEqual(await tables(two!, 'app_two'));
  });

  it('refuses a migration that was edited after it was applied', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agentmem-migrations-'));
    cpSync(DEFAULT_MIGRATIONS_DIR, dir, { recursive: true });
    const p = provider(1);
    await new Migrator(p, { schema: 'edited', migrations: loadMigrations(dir) }).up();
    const file = join(dir, '0001_core.up.sql');
    writeFileSync(file, `${readFileSync(file, 'utf8')}\n-- an innocent-looking edit\n`);
    const migrator = new Migrator(p, { schema: 'edited', migrations: loadMigrations(dir) });
    const error = await migrator.up().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MigrationError);
    expect((error as MigrationError).code).toBe('MIGRATION_CHECKSUM');
    expect((error as MigrationError).message).toMatch(/0001_core was edited after it was applied to provider "p2"/);
    const status = await migrator.status();
    expect(status.ok).toBe(false);
    expect(status.applied[0]?.state).toBe('checksum_mismatch');
    await expect(migrator.down()).rejects.toThrow(/was edited after it was applied/);
  });

  it('takes a migration recorded before its comments were reworded as the same migration, and nothing else', async () => {
    const p = provider(2);
    const schema = 'reworded';
    const migrator = new Migrator(p, { schema });
    await migrator.up();
    const reworded = loadMigrations().filter((m) => m.formerChecksums.length);
    expect(reworded.length).toBeGreaterThan(0);
    // As a database migrated by the release before the rewording recorded them.
    for (const m of reworded)
      await p.query(`UPDATE ${schema}.schema_versions SET checksum = $2 WHERE version = $1`, [m.version, m.formerChecksums[0]]);
    const status = await migrator.status();
    expect(status.ok).toBe(true);
    expect((await migrator.up()).steps).toEqual([]);
    // Any other checksum is still an edit.
    await p.query(`UPDATE ${schema}.schema_versions SET checksum = $2 WHERE version = $1`, [reworded[0]!.version, '0'.repeat(64)]);
    expect((await migrator.up().catch((e: unknown) => e)) as MigrationError).toMatchObject({ code: 'MIGRATION_CHECKSUM' });
  });

  it('refuses a database a newer agentmem migrated, naming both versions and the way back', async () => {
    const p = provider(1);
    const schema = 'from_the_future';
    await new Migrator(p, { schema }).up();
    const latest = loadMigrations().at(-1)!.version;
    await p.query(`INSERT INTO ${schema}.schema_versions (version, name, checksum, duration_ms) VALUES ($1, 'later_feature', 'x', 1)`, [
      latest + 1,
    ]);
    const error = await new Migrator(p, { schema }).up().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MigrationError);
    expect((error as MigrationError).code).toBe('SCHEMA_NEWER');
    expect((error as MigrationError).message).toContain(`is at version ${latest + 1}, newer than this agentmem knows (up to ${latest}`);
    expect((error as MigrationError).message).toContain(`migrate down --to ${latest}`);
    expect((await new Migrator(p, { schema }).status()).ok).toBe(false);
  });

  it('rolls back with down migrations and re-applies', async () => {
    const p = provider(2);
    const schema = 'updown';
    const migrator = new Migrator(p, { schema });
    await migrator.up();
    const latest = loadMigrations().at(-1)!.version;
    const one = await migrator.down();
    expect(one.steps.map((s) => [s.version, s.direction])).toEqual([[latest, 'down']]);
    const all = await migrator.down({ to: 0 });
    expect(all.current).toBe(0);
    expect(await tables(p, schema)).toEqual(['schema_versions']);
    const again = await migrator.up();
    expect(again.current).toBe(latest);
    expect(await tables(p, schema)).toContain('memories');
  });

  it('a failing migration is rolled back whole and recorded nowhere', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agentmem-migrations-'));
    writeFileSync(join(dir, '0001_ok.up.sql'), 'CREATE TABLE {{schema}}.ok_table (id int);');
    writeFileSync(join(dir, '0002_broken.up.sql'), 'CREATE TABLE {{schema}}.half_table (id int);\nSELECT no_such_function();');
    const p = provider(2);
    const migrator = new Migrator(p, { schema: 'broken', migrations: loadMigrations(dir) });
    await expect(migrator.up()).rejects.toThrow(/0002_broken \(up\) failed on provider "p3" and was rolled back/);
    expect(await tables(p, 'broken')).toEqual(['ok_table', 'schema_versions']);
    expect((await migrator.status()).current).toBe(1);
  });
});

describe('agentmem migrate (CLI) against three servers', () => {
  it('migrates one named provider, then all, with JSON output and exit codes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agentmem-cli-'));
    const config = {
      schema: 'clitest',
      providers: cluster.servers.map((s) => ({ name: s.name, url: s.url() })),
    };
    writeFileSync(join(dir, 'agentmem.config.json'), JSON.stringify(config));

    const one = await runCli(['migrate', 'up', '--provider', 'p2', '--json'], { cwd: dir });
    expect(one.code).toBe(0);
    const oneJson = JSON.parse(one.stdout);
    expect(oneJson.providers.map((r: { provider: string }) => r.provider)).toEqual(['p2']);
    // Each migration's start and end on stderr, as JSON lines (stdout is the result alone).
    const steps = one.stderr
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { progress?: { label: string; phase: string } })
      .flatMap((event) => (event.progress ? [event.progress] : []));
    expect(steps.filter((step) => step.phase === 'done').length).toBe(loadMigrations().length);
    expect(steps[0]).toMatchObject({ label: 'p2 0001_core', phase: 'start' });

    const status = await runCli(['migrate', 'status', '--all', '--json'], { cwd: dir });
    expect(status.code).toBe(0);
    const byName = Object.fromEntries(
      JSON.parse(status.stdout).providers.map((r: { provider: string; status: { current: number } }) => [r.provider, r.status.current]),
    );
    const latest = loadMigrations().at(-1)!.version;
    expect(byName).toEqual({ p1: 0, p2: latest, p3: 0 });

    const all = await runCli(['migrate', 'up'], { cwd: dir });
    expect(all.code).toBe(0);
    expect(all.stdout).toMatch(/p1: applied/);
    expect(all.stdout).toMatch(/p2: nothing to do/);

    const down = await runCli(['migrate', 'down', '--to', '0', '--provider', 'p3', '--json'], { cwd: dir });
    expect(down.code).toBe(0);
    expect(JSON.parse(down.stdout).providers[0].run.current).toBe(0);

    const unknown = await runCli(['migrate', 'up', '--provider', 'nope'], { cwd: dir });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no provider named "nope"/);

    const badUsage = await runCli(['migrate', 'sideways'], { cwd: dir });
    expect(badUsage.code).toBe(2);
  });

  it('exits 1 and reports the provider when one server is down, still migrating the others', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agentmem-cli-'));
    const config = {
      schema: 'partial',
      providers: [
        { name: 'up1', url: cluster.servers[0]!.url() },
        { name: 'gone', url: cluster.servers[0]!.url({ port: 1 }), timeouts: { connectMs: 1000 } },
      ],
    };
    writeFileSync(join(dir, 'agentmem.config.json'), JSON.stringify(config));
    const result = await runCli(['migrate', 'up', '--json'], { cwd: dir });
    expect(result.code).toBe(1);
    const json = JSON.parse(result.stdout);
    expect(json.ok).toBe(false);
    expect(json.providers[0].ok).toBe(true);
    expect(json.providers[1].error.code).toBe('PROVIDER_UNAVAILABLE');
  });
});
