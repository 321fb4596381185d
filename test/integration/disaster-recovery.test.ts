import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../harness/cli.js';
import { agentmemOnPath, runShBlock, shBlocks } from '../harness/markdown.js';
import { type RoutedStore, routedStore, useCluster } from '../harness/router-cluster.js';

/**
 * docs/ops/DISASTER_RECOVERY.md is executable: every `sh` block runs, in
 * order, with `set -euo pipefail`, against three local servers holding real
 * memory — after the mistake or loss its section is about has been made
 * (a session deleted, a tenant damaged, a provider's data gone, every
 * provider's data gone). Each section's outcome is checked afterwards.
 */
const doc = readFileSync(join(ROOT, 'docs/ops/DISASTER_RECOVERY.md'), 'utf8');

const cluster = useCluster(3, { migrate: true });
let cwd: string;
let bin: string;
let seeded: RoutedStore;
let sessionId: string;
beforeAll(async () => {
  cwd = mkdtempSync(join(tmpdir(), 'agentmem-dr-'));
  writeFileSync(
    join(cwd, 'agentmem.config.json'),
    JSON.stringify({ providers: cluster.servers.map((s) => ({ name: s.name, url: s.url() })), replication: { enabled: false } }),
  );
  bin = agentmemOnPath(cwd);
  seeded = await routedStore(cluster, { tenant: 'acme' });
  const session = await seeded.memory.sessions.create({ agentId: 'support', title: 'refund for order 1234' });
  sessionId = session.id;
  await seeded.memory.sessions.addMessage(sessionId, { role: 'user', content: 'where is my refund?' });
  await seeded.memory.memories.remember({ type: 'decision', content: { refund: 'approved' } });
  await seeded.memory.forTenant('globex').sessions.create({ title: 'another tenant' });
}, 120_000);
afterAll(async () => {
  await seeded?.close();
});

const count = (server: string, sql: string) => Number(cluster.server(server).psql(sql).trim());

describe('docs/ops/DISASTER_RECOVERY.md', () => {
  const blocks = shBlocks(doc);

  it('has command blocks for every procedure it promises', () => {
    const sections = new Set(blocks.map((b) => b.section));
    for (const s of [
      'Backups and drills',
      'Undo a bad delete',
      'Restore one tenant',
      'Full restore of a lost provider',
      'Full restore of every provider',
    ])
      expect(sections.has(s), s).toBe(true);
  });

  it('every block runs and exits 0, and each procedure brings back what was lost', async () => {
    let before = '';
    const setup: Record<string, () => Promise<void> | void> = {
      'Undo a bad delete': async () => {
        await new Promise((r) => setTimeout(r, 20));
        before = new Date().toISOString();
        await new Promise((r) => setTimeout(r, 20));
        await seeded.memory.sessions.delete(sessionId);
      },
      // A runaway agent: the tenant's decision forgotten, junk written.
      'Restore one tenant': async () => {
        cluster.server('p1').psql("UPDATE agentmem.memories SET content = '\"junk\"', version = version + 1 WHERE tenant_id = 'acme'");
      },
      'Full restore of a lost provider': () => {
        cluster.server('p3').psql('DROP SCHEMA agentmem CASCADE');
      },
      'Full restore of every provider': () => {
        for (const server of cluster.servers) server.psql('DROP SCHEMA agentmem CASCADE');
      },
    };
    const checks: Record<string, () => void> = {
      'Undo a bad delete': () =>
        expect(count('p1', `SELECT count(*) FROM agentmem.sessions WHERE id = '${sessionId}' AND deleted_at IS NULL`)).toBe(1),
      'Restore one tenant': () =>
        expect(count('p2', `SELECT count(*) FROM agentmem.memories WHERE tenant_id = 'acme' AND content = '"junk"'`)).toBe(0),
      'Full restore of a lost provider': () =>
        expect(count('p3', "SELECT count(*) FROM agentmem.sessions WHERE tenant_id = 'globex'")).toBe(1),
      'Full restore of every provider': () => {
        for (const server of ['p1', 'p2', 'p3'])
          expect(count(server, "SELECT count(*) FROM agentmem.sessions WHERE tenant_id = 'acme'")).toBe(1);
      },
    };
    const failures: string[] = [];
    let previous = '';
    for (const [index, block] of blocks.entries()) {
      if (block.section !== previous) {
        if (previous) checks[previous]?.();
        await setup[block.section]?.();
        previous = block.section;
      }
      const failure = runShBlock(block, index, {
        cwd,
        bin,
        timeoutMs: 180_000,
        env: {
          PRIMARY: 'p1',
          LOST: 'p3',
          TENANT: 'acme',
          SESSION: sessionId,
          BEFORE: before,
        },
      });
      if (failure) failures.push(failure);
    }
    checks[previous]?.();
    expect(failures.join('\n\n')).toBe('');
  }, 600_000);
});
