import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../harness/cli.js';
import { type PgCluster, startCluster, TEST_PASSWORD } from '../harness/postgres.js';

/**
 * The test servers' real password is the canary: every command below connects
 * with it (or fails to), with debug logging on, and it must never be printed.
 */
let cluster: PgCluster;
beforeAll(async () => {
  cluster = await startCluster(1);
});
afterAll(async () => {
  await cluster?.stop();
});

function configDir(config: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'agentmem-canary-'));
  writeFileSync(join(dir, 'agentmem.config.json'), JSON.stringify(config));
  return dir;
}

describe('a canary password never appears in CLI output or logs', () => {
  it('across config, status, migrate, errors and legacy variables', async () => {
    const server = cluster.servers[0]!;
    const encoded = encodeURIComponent(TEST_PASSWORD);
    const good = configDir({ providers: [{ name: 'main', url: server.url() }], log: { level: 'trace' } });
    const wrongPassword = configDir({ providers: [{ name: 'main', url: server.url({ password: `${TEST_PASSWORD}-wrong` }) }] });
    const refused = configDir({ providers: [{ name: 'main', url: server.url({ port: 1 }), timeouts: { connectMs: 500 } }] });
    const invalid = configDir({ providers: [{ name: 'main', url: server.url(), pool: { max: -1 } }] });
    const invalidUrl = configDir({ providers: [{ name: 'main', url: `http://postgres:${TEST_PASSWORD}@h/db` }] });
    const legacyEnv = {
      SUPABASE_DB_HOST: '127.0.0.1',
      SUPABASE_DB_PASSWORD: TEST_PASSWORD,
      NEON_DB_URL: server.url(),
      AGENTMEM_LOG_LEVEL: 'trace',
    };
    const legacyDir = mkdtempSync(join(tmpdir(), 'agentmem-canary-'));

    const runs = [
      await runCli(['config', 'show'], { cwd: good }),
      await runCli(['config', 'show', '--json'], { cwd: good }),
      await runCli(['status', '--json'], { cwd: good }),
      await runCli(['status'], { cwd: good }),
      await runCli(['migrate', 'up'], { cwd: good }),
      await runCli(['migrate', 'status', '--json'], { cwd: good }),
      await runCli(['status'], { cwd: wrongPassword }),
      await runCli(['migrate', 'up', '--json'], { cwd: wrongPassword }),
      await runCli(['status', '--json'], { cwd: refused }),
      await runCli(['config', 'show'], { cwd: invalid }),
      await runCli(['config', 'show', '--json'], { cwd: invalidUrl }),
      await runCli(['config', 'show', '--json'], { cwd: legacyDir, env: legacyEnv }),
      await runCli(['status', '--json'], { cwd: legacyDir, env: legacyEnv }),
    ];
    for (const run of runs) {
      const printed = run.stdout + run.stderr;
      expect(printed).not.toContain(TEST_PASSWORD);
      expect(printed).not.toContain(encoded);
    }
    // And the commands did what they should, so the check is not vacuous.
    expect(runs[0]?.stdout).toContain('postgresql://postgres:***@127.0.0.1');
    expect(runs[2]?.code).toBe(0);
    expect(runs[6]?.code).toBe(1);
    expect(runs[6]?.stdout).toMatch(/password authentication failed/);
    expect(runs[8]?.code).toBe(1);
    expect(runs[9]?.code).toBe(2);
    expect(runs[9]?.stderr).toMatch(/providers\[0\]\.pool\.max/);
    expect(runs[10]?.code).toBe(2);
    expect(JSON.parse(runs[11]?.stdout ?? '{}').providers.map((p: { name: string }) => p.name)).toEqual(['neon', 'supabase']);
    expect(runs[12]?.code).toBe(1); // supabase on port 5432 is not there; neon is
  });
});
