import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackup, listBackups, Migrator, PgProvider, restoreBackup, S3Store } from '../../src/ops/index.js';
import { runCli } from '../harness/cli.js';
import { FaultProxy } from '../harness/fault-proxy.js';
import { providerConfig } from '../harness/providers.js';
import { useCluster } from '../harness/router-cluster.js';
import { S3Server } from '../harness/s3.js';

/**
 * Archives in S3-compatible object storage, through the AWS SDK, against a
 * real S3-protocol server behind a fault proxy: an upload the storage drops
 * mid-way leaves nothing listed, and the next backup works.
 */
const cluster = useCluster(2);
let s3: S3Server;
let proxy: FaultProxy;
let p1: PgProvider;
let p2: PgProvider;
const savedEnv = { ...process.env };

beforeAll(async () => {
  for (const server of cluster.servers) {
    const p = new PgProvider(providerConfig(server));
    await new Migrator(p, { schema: 'agentmem' }).up();
    await p.close();
  }
  s3 = await S3Server.start('backups');
  proxy = await FaultProxy.start(s3.port);
  Object.assign(process.env, S3Server.credentials);
  p1 = new PgProvider(providerConfig(cluster.servers[0]!));
  p2 = new PgProvider(providerConfig(cluster.servers[1]!));
  // Rows that do not compress to nothing, so the archive spans several multipart parts.
  await p1.query(
    `INSERT INTO agentmem.memories (tenant_id, id, memory_type, content, version, origin)
     SELECT 'acme', gen_random_uuid(), 'context', jsonb_build_object('n', g, 'text', md5(g::text) || md5((g * 7)::text) || md5((g * 13)::text)), 1, 'p1'
       FROM generate_series(1, 80000) g`,
    undefined,
    { timeoutMs: 120_000 },
  );
}, 180_000);
afterAll(async () => {
  process.env = savedEnv;
  await p1?.close();
  await p2?.close();
  await proxy?.stop();
  await s3?.stop();
});

const store = () =>
  new S3Store('s3://backups/agentmem', {
    endpoint: `http://127.0.0.1:${proxy.port}`,
    region: 'us-east-1',
    forcePathStyle: true,
    requestTimeoutMs: 5000,
  });

describe('backups in S3-compatible object storage', () => {
  it('an upload the storage drops mid-way leaves no usable archive; the next backup lands and restores', async () => {
    const s = store();
    let dropped = false;
    const failing = createBackup(p1, {
      schema: 'agentmem',
      store: s,
      onProgress: (p) => {
        if (!dropped && p.rows > 20_000) {
          dropped = true;
          void proxy.setMode({ kind: 'reset' });
          proxy.cut();
        }
      },
    });
    await expect(failing).rejects.toMatchObject({ code: 'BACKUP_STORE' });
    expect(dropped).toBe(true);
    await proxy.setMode({ kind: 'pass' });
    expect((await listBackups(s)).backups).toEqual([]);

    const made = await createBackup(p1, { schema: 'agentmem', store: s, key: 'an-s3-backup-key-0123' });
    expect(made.archive.bytes).toBeGreaterThan(5 * 1024 * 1024);
    const listing = await listBackups(s);
    expect(listing.backups.map((b) => b.id)).toEqual([made.manifest.id]);
    const report = await restoreBackup(p2, made.manifest.id, {
      schema: 'agentmem',
      store: s,
      key: 'an-s3-backup-key-0123',
      embeddingDim: 384,
    });
    expect(report.tables.find((t) => t.table === 'memories')?.restored).toBe(80_000);
    s.close();
  }, 180_000);

  it('the CLI backs up to and lists from s3://bucket/prefix', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'agentmem-s3-cli-'));
    writeFileSync(
      join(cwd, 'agentmem.config.json'),
      JSON.stringify({
        providers: [{ name: 'p2', url: cluster.servers[1]!.url() }],
        backup: { destination: 's3://backups/cli', s3: { endpoint: s3.url, forcePathStyle: true } },
      }),
    );
    const env = { ...S3Server.credentials };
    const created = await runCli(['backup', 'create', '--json'], { cwd, env });
    expect(created.code, created.stderr).toBe(0);
    const listed = await runCli(['backup', 'list', '--json'], { cwd, env });
    const listing = JSON.parse(listed.stdout) as { location: string; backups: { id: string; verification: { ok: boolean } }[] };
    expect(listing.location).toBe('s3://backups/cli/');
    expect(listing.backups).toHaveLength(1);
    expect(listing.backups[0]?.verification.ok).toBe(true);
  });
});
