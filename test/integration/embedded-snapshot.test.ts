/**
 * A new embedded directory starts from the packaged schema snapshot: the same
 * schema the migrations make (no drift, nothing pending, writes work), only
 * when the snapshot is exactly this schema, and never over a directory that
 * already holds a database.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { diffSchema, EmbeddedProvider, loadMigrations, Migrator } from '../../src/ops/index.js';
import { embeddedSnapshot, writeEmbeddedSnapshot } from '../../src/schema/index.js';
import { runCli } from '../harness/cli.js';
import { embeddedConfig } from '../harness/providers.js';

const options = { schema: 'agentmem', embeddingDim: 384 };
const newDir = () => join(mkdtempSync(join(tmpdir(), 'agentmem-seeded-')), 'data');
let snapshotDir: string;
let madeAt: Date;

const opened: EmbeddedProvider[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((p) => p.close()));
});
async function open(dataDir: string, seed?: Parameters<typeof EmbeddedProvider.open>[1]) {
  const provider = await EmbeddedProvider.open(embeddedConfig(dataDir), seed);
  opened.push(provider);
  return provider;
}
/** When the migrations of this database were applied: before the open when it came from the snapshot. */
async function appliedBefore(provider: EmbeddedProvider, at: Date): Promise<boolean> {
  const { rows } = await provider.query<{ newest: Date }>('SELECT max(applied_at) AS newest FROM agentmem.schema_versions');
  return new Date(rows[0]?.newest as Date) < at;
}

beforeAll(async () => {
  snapshotDir = mkdtempSync(join(tmpdir(), 'agentmem-snapshot-'));
  const { bytes } = await writeEmbeddedSnapshot(options, snapshotDir);
  expect(bytes).toBeGreaterThan(100_000);
  madeAt = new Date();
}, 120_000);

describe('the packaged schema snapshot', () => {
  it('gives a new directory the schema the migrations make: nothing pending, no drift, and it takes writes', async () => {
    const provider = await open(newDir(), embeddedSnapshot(options, snapshotDir));
    expect(await appliedBefore(provider, madeAt)).toBe(true);
    const status = await new Migrator(provider, options).status();
    expect(status.pending).toEqual([]);
    expect(status.current).toBe(loadMigrations().at(-1)?.version);
    const drift = await diffSchema(provider, options);
    expect(drift.items).toEqual([]);
    await provider.query(
      `INSERT INTO agentmem.memories (tenant_id, id, memory_type, content, metadata, created_at, version, origin)
       VALUES ('t', gen_random_uuid(), 'fact', '"seeded"', '{}', now(), 1, 'test')`,
    );
    const { rows } = await provider.query<{ n: number }>(`SELECT count(*)::int AS n FROM agentmem.memories WHERE content = '"seeded"'`);
    expect(rows[0]?.n).toBe(1);
  });

  it('is not used for another schema, another dimension, other migrations or another PGlite: the directory is made the long way', async () => {
    const manifest = JSON.parse(readFileSync(join(snapshotDir, 'embedded-snapshot.json'), 'utf8'));
    expect(await embeddedSnapshot({ schema: 'other_app', embeddingDim: 384 }, snapshotDir)()).toBeUndefined();
    expect(await embeddedSnapshot({ schema: 'agentmem', embeddingDim: 1536 }, snapshotDir)()).toBeUndefined();
    for (const changed of [{ migrations: '0'.repeat(64) }, { pglite: '0.0.1' }, { pgvector: '0.0.1' }]) {
      const dir = mkdtempSync(join(tmpdir(), 'agentmem-snapshot-changed-'));
      writeFileSync(join(dir, 'embedded-snapshot.json'), JSON.stringify({ ...manifest, ...changed }));
      writeFileSync(join(dir, 'embedded-snapshot.tar.gz'), readFileSync(join(snapshotDir, 'embedded-snapshot.tar.gz')));
      expect(await embeddedSnapshot(options, dir)(), JSON.stringify(changed)).toBeUndefined();
    }
    // No snapshot at all (a source checkout that was not built), or a damaged one: a new, empty database.
    expect(await embeddedSnapshot(options, mkdtempSync(join(tmpdir(), 'agentmem-no-snapshot-')))()).toBeUndefined();
    const damaged = mkdtempSync(join(tmpdir(), 'agentmem-snapshot-damaged-'));
    writeFileSync(join(damaged, 'embedded-snapshot.json'), '{ not json');
    expect(await embeddedSnapshot(options, damaged)()).toBeUndefined();
    const provider = await open(newDir(), embeddedSnapshot({ schema: 'agentmem', embeddingDim: 1536 }, snapshotDir));
    const { rows } = await provider.query<{ t: string | null }>(`SELECT to_regclass('agentmem.memories')::text AS t`);
    expect(rows[0]?.t).toBeNull();
  });

  it('never seeds a directory that already holds a database', async () => {
    const dataDir = newDir();
    const first = await open(dataDir);
    await first.exec('CREATE TABLE kept (n int); INSERT INTO kept VALUES (7)');
    await first.close();
    opened.splice(0);
    const again = await open(dataDir, () => Promise.reject(new Error('the seed was asked for an existing directory')));
    const { rows } = await again.query<{ n: number }>('SELECT n FROM kept');
    expect(rows).toEqual([{ n: 7 }]);
  });

  it('a first run of the built library on the embedded default starts from it: createMemory, remember, search', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'agentmem-first-run-'));
    const before = new Date();
    const added = await runCli(['memory', 'add', '--type', 'fact', '--content', 'the spare pump is in bay 4'], { cwd });
    expect(added.code, added.stderr).toBe(0);
    const found = await runCli(['memory', 'search', 'spare pump', '--json'], { cwd });
    expect(found.code, found.stderr).toBe(0);
    expect(JSON.stringify(JSON.parse(found.stdout))).toContain('bay 4');
    // The CLI's database, opened after it exited: its migrations were applied before this test ran (by the build).
    const provider = await open(join(cwd, '.agentmem/data'));
    expect(await appliedBefore(provider, before)).toBe(true);
  });
});
