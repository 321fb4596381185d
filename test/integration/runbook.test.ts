import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runCli } from '../harness/cli.js';
import { agentmemOnPath, runShBlock, shBlocks } from '../harness/markdown.js';
import { giveToServerUser } from '../harness/postgres.js';
import { routedStore, useCluster } from '../harness/router-cluster.js';

/**
 * The runbook is executable: every `sh` block in docs/ops/RUNBOOK.md runs, in
 * order, with `set -euo pipefail`, against three local servers — each
 * procedure during the failure it describes, made real just before it: a
 * dropped index (drift), the primary SIGKILLed while writes went on and
 * back behind (failover and failback), a row deleted behind replication's
 * back, every server SIGKILLed, a row's content changed behind replication's
 * back. A diagnosis block must exit with the code the doc says it does
 * (`expect-exit`), every other block with 0.
 */
const runbook = readFileSync(join(ROOT, 'docs/ops/RUNBOOK.md'), 'utf8');

const cluster = useCluster(3, { migrate: true });
let cwd: string;
let bin: string;
/** Where p3's full disk is mounted (a 2 MB tmpfs), and whether it is. */
const tiny = join(tmpdir(), `agentmem-runbook-disk-${process.pid}`);
let mounted = false;
afterAll(() => {
  if (mounted) execFileSync('umount', ['-l', tiny]);
});

/** Fill a filesystem: write zeros to `file` until there is no room left. */
function fillUp(file: string): void {
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(64 * 1024);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  } finally {
    closeSync(fd);
  }
}
beforeAll(async () => {
  cwd = mkdtempSync(join(tmpdir(), 'agentmem-runbook-'));
  writeFileSync(
    join(cwd, 'agentmem.config.json'),
    JSON.stringify({ providers: cluster.servers.map((s) => ({ name: s.name, url: s.url() })) }),
  );
  // `agentmem` on PATH, as after `npm install -g agentmem`.
  bin = agentmemOnPath(cwd);
});

describe('docs/ops/RUNBOOK.md', () => {
  const blocks = shBlocks(runbook);

  it('has command blocks for every procedure the runbook promises', () => {
    const sections = new Set(blocks.map((b) => b.section));
    for (const s of [
      'Daily checks',
      'Switching primary',
      'Deploying schema changes',
      'Fixing drift',
      'Failover and failback',
      'Replication repair',
      'Credential rotation',
      'Emergency: all providers down',
      "Emergency: a provider's disk is full",
      'Emergency: data corruption',
      'Pool sizing',
      'Weekly and monthly maintenance',
    ])
      expect(sections.has(s), s).toBe(true);
  });

  it('every command block runs during the failure it is for and exits as the doc says', async () => {
    // What each procedure expects to find, set up just before its first block (`section`) or its nth (`section#n`).
    const setup: Record<string, () => unknown> = {
      // The health history a running monitor keeps (one sample a minute for the last hour), which `sla` reads.
      'Daily checks': () => {
        mkdirSync(join(cwd, '.agentmem'), { recursive: true });
        const providers = Object.fromEntries(cluster.servers.map((s) => [s.name, true]));
        const samples = Array.from({ length: 60 }, (_, i) => ({
          at: new Date(Date.now() - (60 - i) * 60_000).toISOString(),
          state: 'healthy',
          writable: true,
          providers,
          intervalSeconds: 60,
        }));
        writeFileSync(join(cwd, '.agentmem/health.jsonl'), `${samples.map((s) => JSON.stringify(s)).join('\n')}\n`);
      },
      // A drifted index for "Fixing drift" to find and fix.
      'Fixing drift': () => cluster.server('p3').psql('DROP INDEX agentmem.sessions_user_idx'),
      // The primary killed while an agent writes: its writes fail over to p2; p1 comes back behind them.
      'Failover and failback': async () => {
        const agent = await routedStore(cluster, { tenant: 'runbook' });
        try {
          await cluster.server('p1').kill();
          for (let i = 0; i < 20; i++) await agent.memory.memories.remember({ type: 'log', content: { during: 'failover', i } });
          expect(agent.events.some((e) => e.type === 'failover')).toBe(true);
        } finally {
          await agent.close();
        }
        await cluster.server('p1').start();
      },
      // A row damaged behind replication's back for "Replication repair".
      'Replication repair': () =>
        cluster
          .server('p2')
          .psql('DELETE FROM agentmem.memories WHERE id = (SELECT id FROM agentmem.memories ORDER BY version DESC LIMIT 1)'),
      'Emergency: all providers down': async () => {
        for (const server of cluster.servers) await server.kill();
      },
      // The recovery steps run once they are back.
      'Emergency: all providers down#3': async () => {
        for (const server of cluster.servers) await server.start();
      },
      // p3's memories on a 2 MB filesystem, filled up: reads work, every write there fails (SQLSTATE 53100).
      "Emergency: a provider's disk is full": async () => {
        mkdirSync(tiny, { recursive: true });
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', tiny]);
        mounted = true;
        giveToServerUser(tiny);
        const p3 = cluster.server('p3');
        p3.psql(`CREATE TABLESPACE runbook_tiny LOCATION '${tiny}'`);
        // fillfactor 10: the next insert needs a new page, which the full disk cannot give.
        p3.psql('ALTER TABLE agentmem.memories SET TABLESPACE runbook_tiny; ALTER TABLE agentmem.memories SET (fillfactor = 10)');
        fillUp(join(tiny, 'filler'));
        // Something for replication to copy into it.
        const agent = await routedStore(cluster, { tenant: 'runbook' });
        try {
          await agent.memory.memories.remember({ type: 'log', content: 'written while p3 is full' });
        } finally {
          await agent.close();
        }
      },
      // Room again (what a larger volume does).
      "Emergency: a provider's disk is full#3": () => rmSync(join(tiny, 'filler')),
      // A row's content changed on one provider without a new version: replication cannot see it, only checksums can.
      'Emergency: data corruption': () =>
        cluster
          .server('p2')
          .psql(
            `SET session_replication_role = replica; UPDATE agentmem.memories SET content = '"corrupted"' WHERE id = (SELECT id FROM agentmem.memories WHERE deleted_at IS NULL ORDER BY version DESC LIMIT 1)`,
          ),
    };
    // A backup for the weekly drill to restore (the monitor makes one a day).
    setup['Weekly and monthly maintenance'] = async () => {
      const created = await runCli(['backup', 'create'], { cwd });
      expect(created.code, created.stderr).toBe(0);
    };
    const failures: string[] = [];
    for (const [index, block] of blocks.entries()) {
      for (const key of [block.section, `${block.section}#${block.nth}`]) {
        if (block.nth === 1 || key.includes('#')) await setup[key]?.();
        delete setup[key];
      }
      const failure = runShBlock(block, index, {
        cwd,
        bin,

        env: {
          PROVIDER: 'p3',
          NEW_PRIMARY: 'p2',
        },
      });
      if (failure) failures.push(failure);
    }
    expect(failures.join('\n\n')).toBe('');
    expect(blocks.length).toBeGreaterThanOrEqual(12);
    // The failures were real: some block of each of these sections exits non-zero during its failure.
    const diagnosed = new Set(blocks.filter((b) => b.expectExit !== 0).map((b) => b.section));
    expect([...diagnosed].sort()).toEqual(
      [
        'Emergency: all providers down',
        "Emergency: a provider's disk is full",
        'Emergency: data corruption',
        'Failover and failback',
        'Fixing drift',
        'Replication repair',
      ].sort(),
    );
  }, 600_000);
});
