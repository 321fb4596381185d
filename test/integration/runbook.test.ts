import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../harness/cli.js';
import { agentmemOnPath, runShBlock, shBlocks } from '../harness/markdown.js';
import { useCluster } from '../harness/router-cluster.js';

/**
 * The runbook is executable: every `sh` block in docs/ops/RUNBOOK.md runs, in
 * order, with `set -euo pipefail`, against three local servers. A command
 * that does not exist, a flag that changed, or a procedure that fails on a
 * healthy cluster fails this test.
 */
const runbook = readFileSync(join(ROOT, 'docs/ops/RUNBOOK.md'), 'utf8');

const cluster = useCluster(3, { migrate: true });
let cwd: string;
let bin: string;
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
      'Emergency: data corruption',
    ])
      expect(sections.has(s), s).toBe(true);
  });

  it('every command block runs and exits 0 against a local three-provider cluster', () => {
    // What each procedure expects to find, set up just before its first block.
    const setup: Record<string, () => void> = {
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
      // A row damaged behind replication's back for "Replication repair".
      'Replication repair': () =>
        cluster
          .server('p2')
          .psql('DELETE FROM agentmem.memories WHERE id = (SELECT id FROM agentmem.memories ORDER BY version DESC LIMIT 1)'),
    };
    const failures: string[] = [];
    for (const [index, block] of blocks.entries()) {
      setup[block.section]?.();
      delete setup[block.section];
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
  });
});
