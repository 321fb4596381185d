import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Alertmanager } from '../harness/alertmanager.js';
import { childEnv } from '../harness/child-env.js';
import { ROOT, startCli } from '../harness/cli.js';
import { useCluster } from '../harness/router-cluster.js';

/**
 * Alerting against the real tools: Prometheus' promtool runs the rule tests,
 * a real Alertmanager receives the monitor's alerts, and an application that
 * embeds agentmem serves the operation metrics the rules need.
 */
const cluster = useCluster(2, { migrate: true });
let alertmanager: Alertmanager;
beforeAll(async () => {
  alertmanager = await Alertmanager.start({ resolveTimeout: '5s' });
});
afterAll(async () => {
  await alertmanager?.stop();
});

async function until<T>(probe: () => Promise<T | undefined>, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(200);
  }
}

describe('alerting with the real tools', () => {
  it('promtool: the rules are valid and their unit tests pass (a first failover after a start is seen)', () => {
    const check = spawnSync('promtool', ['check', 'rules', join(ROOT, 'docs/ops/alert-rules.yml')], { encoding: 'utf8' });
    expect(check.status, check.stdout + check.stderr).toBe(0);
    const tests = spawnSync('promtool', ['test', 'rules', join(ROOT, 'docs/ops/alert-rules.test.yml')], { encoding: 'utf8' });
    expect(tests.status, tests.stdout + tests.stderr).toBe(0);
    expect(tests.stdout).toContain('SUCCESS');
  });

  it('Alertmanager keeps a provider-down alert firing past its resolve_timeout while the provider is down, and resolves it when it returns', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'agentmem-alerting-'));
    writeFileSync(
      join(cwd, 'agentmem.config.json'),
      JSON.stringify({ providers: cluster.servers.map((s) => ({ name: s.name, url: s.url() })) }),
    );
    await cluster.server('p2').kill();
    const monitor = startCli(['monitor', '--interval', '1s'], { cwd, env: { AGENTMEM_ALERTMANAGER_URL: alertmanager.url } });
    try {
      const isDown = (a: { labels: Record<string, string> }) =>
        a.labels.alertname === 'agentmem_provider_down' && a.labels.provider === 'p2';
      const first = await until(async () => (await alertmanager.alerts()).find(isDown), 30_000, 'provider_down alert');
      expect(first.status.state).toBe('active');
      expect(Date.parse(first.endsAt)).toBeGreaterThan(Date.now());
      // Longer than resolve_timeout (5 s): still firing, because the monitor re-posts it at every check.
      await sleep(7000);
      const later = (await alertmanager.alerts()).find(isDown);
      expect(later?.status.state).toBe('active');
      expect(Date.parse(later?.updatedAt ?? '')).toBeGreaterThan(Date.parse(first.updatedAt));
      expect(alertmanager.amtool('alert', 'query', 'alertname=agentmem_provider_down')).toContain('agentmem_provider_down');

      await cluster.server('p2').start();
      await until(async () => ((await alertmanager.alerts()).some(isDown) ? undefined : true), 30_000, 'resolution');
    } finally {
      await monitor.stop('SIGTERM');
    }
  });

  it("an application serving agentmem's registry exposes the operation metrics, and failover counters that start at 0", async () => {
    const app = spawn(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'test/fixtures/app-metrics.ts'), ...cluster.servers.map((s) => s.url())],
      {
        cwd: ROOT,
        env: childEnv({ AGENTMEM_LOG_LEVEL: 'error' }),
      },
    );
    try {
      const url = await new Promise<string>((resolve, reject) => {
        app.stdout.once('data', (d: Buffer) => resolve(d.toString().trim()));
        app.once('exit', (code) => reject(new Error(`app exited ${code}`)));
      });
      const scrape = () => fetch(`${url}/metrics`).then((r) => r.text());
      const before = await scrape();
      expect(before).toMatch(/agentmem_query_duration_seconds_count\{operation="memory\.remember",provider="p1"\} [1-9]/);
      expect(before).toContain('agentmem_failovers_total{kind="failover",from="p1",to="p2"} 0');
      expect(before).toContain('agentmem_errors_total{class="PROVIDER_UNAVAILABLE",operation="memory.remember"} 0');
      expect(before).toMatch(/agentmem_routed_calls_total\{provider="p1",kind="write",outcome="ok"\} [1-9]/);
      await cluster.server('p1').kill();
      const after = await until(
        async () => {
          const text = await scrape();
          return /agentmem_failovers_total\{kind="failover",from="p1",to="p2"\} [1-9]/.test(text) ? text : undefined;
        },
        20_000,
        'failover counted',
      );
      expect(after).toMatch(/agentmem_query_duration_seconds_count\{operation="memory\.remember",provider="p2"\} [1-9]/);
    } finally {
      app.kill('SIGTERM');
      await new Promise((resolve) => app.once('exit', resolve));
      if (!cluster.server('p1').isRunning()) await cluster.server('p1').start();
    }
  });
});
