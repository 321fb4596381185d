import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DataDirLockedError } from '../../src/index.js';
import { createBackup, EmbeddedProvider, LocalStore, loadMigrations, Migrator, restoreBackup } from '../../src/ops/index.js';
import { expectArchiveFormats } from '../harness/archive-formats.js';
import { expectSettingsStayWithTheirOperation } from '../harness/carried-settings.js';
import { runCli } from '../harness/cli.js';
import { embeddedConfig } from '../harness/providers.js';

const opened: EmbeddedProvider[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((p) => p.close()));
});

describe('embedded PGlite provider', () => {
  it("keeps an operation's settings on its one session between single statements, never lets them reach another operation", async () => {
    const provider = await EmbeddedProvider.open(embeddedConfig(join(mkdtempSync(join(tmpdir(), 'agentmem-carry-')), 'data')));
    opened.push(provider);
    await expectSettingsStayWithTheirOperation(provider);
  });

  it('works with no config at all: migrate up, then status --json, from a fresh directory', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'agentmem-fresh-'));
    const up = await runCli(['migrate', 'up'], { cwd });
    expect(up.code).toBe(0);
    // A new directory starts from the packaged schema snapshot: already at the newest version.
    expect(up.stdout).toContain(`embedded: nothing to do, now at version ${loadMigrations().at(-1)!.version}`);
    const status = await runCli(['migrate', 'status', '--json'], { cwd });
    expect(status.code).toBe(0);
    const json = JSON.parse(status.stdout);
    expect(json.providers[0].provider).toBe('embedded');
    expect(json.providers[0].status.pending).toEqual([]);
    expect(json.providers[0].status.current).toBe(loadMigrations().at(-1)!.version);
    const overall = await runCli(['status', '--json'], { cwd });
    expect(overall.code).toBe(0);
    const providers = JSON.parse(overall.stdout).providers;
    expect(providers[0]).toMatchObject({ name: 'embedded', kind: 'embedded', reachable: true, vector: expect.any(String) });
    expect(providers[0].target).toBe(`embedded:${join(cwd, '.agentmem/data')}`);
    // It says plainly what the default embedder can and cannot do.
    expect(JSON.parse(overall.stdout).embedder).toEqual({
      kind: 'local',
      model: 'agentmem-local-hash-v1',
      dimensions: 384,
      matches: 'words',
    });
    expect((await runCli(['status'], { cwd })).stdout).toMatch(
      /embedder: agentmem-local-hash-v1 \(384 dimensions\) — the built-in embedder: matches words and spellings, not meaning/,
    );
  });

  it('refuses a second opener of the same data directory, in-process and from another process', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'agentmem-lock-')), 'data');
    const first = await EmbeddedProvider.open(embeddedConfig(dataDir));
    opened.push(first);
    await expect(EmbeddedProvider.open(embeddedConfig(dataDir))).rejects.toBeInstanceOf(DataDirLockedError);

    const other = await runCli(['migrate', 'status'], { cwd: tmpdir(), env: { AGENTMEM_DATA_DIR: dataDir } });
    expect(other.code).toBe(1);
    expect(other.stdout + other.stderr).toMatch(/DATA_DIR_LOCKED.*in use by another agentmem process/);

    // Once closed, the directory can be opened again and still holds its data.
    await first.query('CREATE TABLE kept (v text)');
    await first.query("INSERT INTO kept VALUES ('still here')");
    await first.close();
    const second = await EmbeddedProvider.open(embeddedConfig(dataDir));
    opened.push(second);
    const { rows } = await second.query<{ v: string }>('SELECT v FROM kept');
    expect(rows).toEqual([{ v: 'still here' }]);
  });

  it('runs migrations up and down, and transactions roll back on error', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'agentmem-emb-')), 'data');
    const provider = await EmbeddedProvider.open(embeddedConfig(dataDir));
    opened.push(provider);
    const migrator = new Migrator(provider, { schema: 'agentmem' });
    // The atoms' HNSW graphs: vector on PGlite (halfvec distances are computed in software there), halfvec below 0030.
    const graphs = async () =>
      (
        await provider.query<{ ops: string }>(
          `SELECT DISTINCT substring(indexdef from '(\\w+_cosine_ops)') AS ops FROM pg_indexes
            WHERE schemaname = 'agentmem' AND indexname LIKE 'knowledge\\_atoms\\_embedding\\_hnsw\\_b%'`,
        )
      ).rows.map((r) => r.ops);
    await migrator.up();
    expect(await graphs()).toEqual(['vector_cosine_ops']);
    await migrator.down({ to: 29 });
    expect(await graphs()).toEqual(['halfvec_cosine_ops']);
    await migrator.down({ to: 0 });
    expect((await migrator.status()).current).toBe(0);
    await migrator.up();
    expect(await graphs()).toEqual(['vector_cosine_ops']);
    await provider.query('CREATE TABLE t (id int primary key)');
    await expect(
      provider.transaction(async (tx) => {
        await tx.query('INSERT INTO t VALUES (1)');
        await tx.query('INSERT INTO t VALUES (1)');
      }),
    ).rejects.toMatchObject({ code: 'QUERY_FAILED', sqlState: '23505' });
    expect((await provider.query('SELECT * FROM t')).rows).toEqual([]);
    // Concurrent callers do not interleave inside each other's transactions.
    await Promise.all([
      provider.transaction(async (tx) => {
        await tx.query('INSERT INTO t VALUES (10)');
        await new Promise((r) => setTimeout(r, 20));
        await tx.query('INSERT INTO t VALUES (11)');
      }),
      provider.query('INSERT INTO t VALUES (20)'),
    ]);
    expect((await provider.query<{ id: number }>('SELECT id FROM t ORDER BY id')).rows.map((r) => r.id)).toEqual([10, 11, 20]);
  });

  it('backs up and restores on PGlite: whole into an empty database, then one tenant rewound through a scratch schema', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agentmem-embedded-backup-'));
    const source = await EmbeddedProvider.open(embeddedConfig(join(dir, 'a')));
    const target = await EmbeddedProvider.open({ ...embeddedConfig(join(dir, 'b')), name: 'copy' });
    opened.push(source, target);
    await new Migrator(source, { schema: 'agentmem' }).up();
    for (const tenant of ['t1', 't2'])
      await source.query(
        `INSERT INTO agentmem.memories (tenant_id, id, memory_type, content, version, origin)
         SELECT $1, gen_random_uuid(), 'context', to_jsonb('note ' || g), g, 'embedded' FROM generate_series(1, 50) g`,
        [tenant],
      );
    const store = new LocalStore(join(dir, 'backups'));
    const made = await createBackup(source, { schema: 'agentmem', store, key: 'embedded-backup-key-123' });
    const whole = await restoreBackup(target, made.manifest.id, {
      schema: 'agentmem',
      store,
      key: 'embedded-backup-key-123',
      embeddingDim: 384,
    });
    expect(whole.mode).toBe('seed');
    expect(whole.tables.find((t) => t.table === 'memories')?.restored).toBe(100);
    await target.query(`UPDATE agentmem.memories SET content = '"damaged"', version = version + 1000 WHERE tenant_id = 't1'`);
    const one = await restoreBackup(target, made.manifest.id, {
      schema: 'agentmem',
      store,
      key: 'embedded-backup-key-123',
      embeddingDim: 384,
      tenant: 't1',
    });
    expect(one.mode).toBe('rewind');
    const { rows } = await target.query<{ tenant_id: string; n: number }>(
      `SELECT tenant_id, count(*)::int AS n FROM agentmem.memories WHERE content = '"damaged"' GROUP BY 1`,
    );
    expect(rows).toEqual([]);
  });

  it('reads format-1 (gzip) archives, writes brotli by default and gzip on request, refuses a header and manifest that disagree', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agentmem-embedded-formats-'));
    const source = await EmbeddedProvider.open(embeddedConfig(join(dir, 'a')));
    const target = await EmbeddedProvider.open({ ...embeddedConfig(join(dir, 'b')), name: 'copy' });
    opened.push(source, target);
    await new Migrator(source, { schema: 'agentmem' }).up();
    await new Migrator(target, { schema: 'agentmem' }).up();
    await source.query(
      `INSERT INTO agentmem.memories (tenant_id, id, memory_type, content, version, origin)
       SELECT 't1', gen_random_uuid(), 'context', to_jsonb('note ' || g), g, 'embedded' FROM generate_series(1, 50) g`,
    );
    await expectArchiveFormats(source, target, dir);
  });
});
