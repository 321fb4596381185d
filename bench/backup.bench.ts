/**
 * Backup and restore against Debian's pg_dump -Fc / pg_restore of the same
 * database, in sittings on the same two servers that alternate which goes
 * first. Prints JSON:
 *   - each sitting's backup time (agentmem vs pg_dump -Fc) and restore time
 *     into an empty target (agentmem vs pg_restore into a fresh database), and
 *     their ratios (pg_* time / agentmem time: ≥ 1 means as fast or faster)
 *     with min–median–max over the sittings: a target holds when its worst
 *     sitting does (backup + restore ≥ 1.0, backup alone ≥ 0.9);
 *   - archive size vs the pg_dump file;
 *   - this process's peak RSS during agentmem's backup and restore (streaming: flat);
 *   - a restore drill's measured RTO (restore into a scratch schema + checksum comparison).
 * Sizes: BENCH_ROWS (1,000,000) rows across sessions, messages and memories,
 * knowledge atoms (BENCH_ATOMS of them with 384-dimension embeddings, 10,000)
 * and settings; BENCH_SITTINGS (3) sittings.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBackup, LocalStore, Migrator, PgProvider, restoreBackup, verifyBackup } from '../src/ops/index.js';
import { startCluster } from '../test/harness/postgres.js';
import { providerConfig } from '../test/harness/providers.js';
import { LIBRARY, spread } from './stats.js';

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const ATOMS = Number(process.env.BENCH_ATOMS ?? 10_000);
const SITTINGS = Number(process.env.BENCH_SITTINGS ?? 3);

const cluster = await startCluster(2, ['source', 'target']);
const [sourceServer, targetServer] = cluster.servers as [(typeof cluster.servers)[0], (typeof cluster.servers)[0]];
const bin = sourceServer.binDir;
const work = mkdtempSync(join(tmpdir(), 'agentmem-bench-backup-'));
const out: Record<string, unknown> = {
  bench: 'backup',
  library: LIBRARY,
  rows: ROWS,
  atomsWithEmbeddings: ATOMS,
  sittings: SITTINGS,
  shared_buffers: '32MB',
  compression: 'brotli, quality 1 (the default)',
};

let peakRss = 0;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 50);
const timed = async (fn: () => unknown) => {
  const started = performance.now();
  await fn();
  return performance.now() - started;
};
const run = (cmd: string, args: string[]) => {
  const result = spawnSync(join(bin, cmd), args, { encoding: 'utf8', env: { ...process.env, PGPASSWORD: 'Canary-pw-7f3a9e' } });
  if (result.status !== 0) throw new Error(`${cmd} failed: ${result.stderr}`);
};

try {
  const source = new PgProvider(
    providerConfig(sourceServer, { timeouts: { connectMs: 5000, queryMs: 900_000, statementMs: 900_000, idleInTransactionMs: 900_000 } }),
  );
  await new Migrator(source, { schema: 'agentmem' }).up();
  const sessions = Math.max(1, Math.round(ROWS * 0.02));
  const settings = 1000;
  const memories = ROWS - sessions - settings - ATOMS;
  // Loaded as replication would (no change history recorded), so the database holds exactly ROWS rows.
  const loadStarted = performance.now();
  await source.transaction(
    async (tx) => {
      await tx.query(`INSERT INTO agentmem.sessions (tenant_id, id, agent_id, title, metadata, version, origin)
        SELECT 't' || (g % 10), md5('s' || g)::uuid, 'agent-' || (g % 7), 'session ' || g, jsonb_build_object('n', g), 1000 + g, 'source'
          FROM generate_series(1, ${sessions}) g`);
      await tx.query(`INSERT INTO agentmem.memories (tenant_id, id, session_id, memory_type, position, content, metadata, created_at, version, origin)
        SELECT 't' || ((g % ${sessions}) % 10), md5('m' || g)::uuid, CASE WHEN g % 4 = 0 THEN NULL ELSE md5('s' || (g % ${sessions}))::uuid END,
               CASE WHEN g % 4 = 0 THEN 'decision' WHEN g % 2 = 0 THEN 'message_user' ELSE 'message_assistant' END, 1000 + g,
               to_jsonb('message ' || g || ' about order ' || (g::bigint * 7919 % 100000) || ' and ' || md5(g::text)), '{}',
               timestamptz '2026-01-01' + g * interval '1 second', 1000 + g, 'source'
          FROM generate_series(1, ${memories}) g`);
      await tx.query(`INSERT INTO agentmem.knowledge_atoms (tenant_id, id, atom_id, atom_type, title, content, keywords, embedding, embedding_model, embedding_dim, version, origin)
        SELECT 't' || (g % 10), md5('a' || g)::uuid, 'bench:atom-' || g, 'concept', 'Atom ' || g, 'Content of atom ' || g || ' ' || md5(g::text),
               ARRAY['k' || (g % 50)], (SELECT array_agg(((g::bigint * 31 + i) % 997)::real / 997) FROM generate_series(1, 384) i), 'bench', 384, 1000 + g, 'source'
          FROM generate_series(1, ${ATOMS}) g`);
      await tx.query(`INSERT INTO agentmem.settings (tenant_id, category, key, id, value, version, origin)
        SELECT 't' || (g % 10), 'cat' || (g % 10), 'key' || g, md5('x' || g)::uuid, to_jsonb(g), 1000 + g, 'source' FROM generate_series(1, ${settings}) g`);
    },
    { settings: { 'agentmem.replicating': 'on' } },
  );
  await source.query('VACUUM ANALYZE');
  out.loadSeconds = Math.round((performance.now() - loadStarted) / 100) / 10;

  const store = new LocalStore(join(work, 'archives'));
  const target = new PgProvider(
    providerConfig(targetServer, { timeouts: { connectMs: 5000, queryMs: 900_000, statementMs: 900_000, idleInTransactionMs: 900_000 } }),
  );
  const sittings: Record<string, number>[] = [];
  let archiveBytes = 0;
  let dumpBytes = 0;
  let rssBackup = 0;
  let rssRestore = 0;
  let lastId = '';
  for (let sitting = 0; sitting < SITTINGS; sitting++) {
    const r: Record<string, number> = {};
    // Alternate which goes first, so neither always finds a warm cache.
    const order = sitting % 2 === 0 ? ['agentmem', 'pg'] : ['pg', 'agentmem'];
    for (const who of order) {
      if (who === 'agentmem') {
        const base = process.memoryUsage().rss;
        peakRss = base;
        r.agentmemBackupMs = await timed(async () => {
          const made = await createBackup(source, { schema: 'agentmem', store });
          archiveBytes = made.archive.bytes;
          lastId = made.manifest.id;
        });
        rssBackup = Math.max(rssBackup, peakRss);
        await target.query('DROP SCHEMA IF EXISTS agentmem CASCADE');
        peakRss = process.memoryUsage().rss;
        r.agentmemRestoreMs = await timed(() => restoreBackup(target, lastId, { schema: 'agentmem', store, embeddingDim: 384 }));
        rssRestore = Math.max(rssRestore, peakRss);
      } else {
        const file = join(work, `dump-${sitting}.pgdump`);
        r.pgDumpMs = await timed(() => run('pg_dump', ['-Fc', '-n', 'agentmem', '-f', file, sourceServer.url()]));
        dumpBytes = statSync(file).size;
        targetServer.psql('DROP DATABASE IF EXISTS restored');
        targetServer.psql('CREATE DATABASE restored');
        targetServer.psql('CREATE EXTENSION IF NOT EXISTS vector', 'restored');
        r.pgRestoreMs = await timed(() => run('pg_restore', ['--no-owner', '-d', targetServer.url({ database: 'restored' }), file]));
        rmSync(file);
      }
    }
    sittings.push(Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Math.round(v)])));
  }
  const each = (key: string) => sittings.map((r) => r[key] as number);
  const ratios = (ours: (r: Record<string, number>) => number, theirs: (r: Record<string, number>) => number) =>
    sittings.map((r) => theirs(r) / ours(r));
  out.sittingsMs = sittings;
  out.backup = {
    agentmemMs: spread(each('agentmemBackupMs')),
    pgDumpMs: spread(each('pgDumpMs')),
    ratio: {
      ...spread(
        ratios(
          (r) => r.agentmemBackupMs as number,
          (r) => r.pgDumpMs as number,
        ),
      ),
      target: 0.9,
    },
  };
  out.restore = {
    agentmemMs: spread(each('agentmemRestoreMs')),
    pgRestoreMs: spread(each('pgRestoreMs')),
    ratio: spread(
      ratios(
        (r) => r.agentmemRestoreMs as number,
        (r) => r.pgRestoreMs as number,
      ),
    ),
  };
  out.backupPlusRestoreRatio = {
    ...spread(
      ratios(
        (r) => (r.agentmemBackupMs as number) + (r.agentmemRestoreMs as number),
        (r) => (r.pgDumpMs as number) + (r.pgRestoreMs as number),
      ),
    ),
    target: 1,
  };
  out.size = { archiveBytes, pgDumpBytes: dumpBytes, ratio: Number((archiveBytes / dumpBytes).toFixed(2)) };
  out.peakRssMb = { backup: Math.round(rssBackup / 1048576), restore: Math.round(rssRestore / 1048576), limit: 256 };
  const drill = await verifyBackup(store, lastId, { restoreTest: { provider: target, schema: 'agentmem', embeddingDim: 384 } });
  out.drill = {
    ok: drill.ok,
    rtoSeconds: (drill.restoreTest?.durationMs ?? 0) / 1000,
    differingBuckets: drill.restoreTest?.differingBuckets,
  };
  await source.close();
  await target.close();
} finally {
  clearInterval(sampler);
  await cluster.stop();
  rmSync(work, { recursive: true, force: true });
}
console.log(JSON.stringify(out, null, 2));
