import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemory, loadConfig } from '../../src/index.js';
import { runCli, startCli } from '../harness/cli.js';
import { HttpSink } from '../harness/http-sink.js';
import { TEST_PASSWORD } from '../harness/postgres.js';
import { useCluster } from '../harness/router-cluster.js';

/**
 * The ops toolkit on three real servers: health exit codes and JSON shape in
 * each state, alerts through stand-in channels, verify, the metrics endpoint,
 * the monitor loop and the SLA it records, and the slow-query log.
 */
const cluster = useCluster(3, { migrate: true });
let cwd: string;
const sinks: Record<'telegram' | 'webhook' | 'alertmanager', HttpSink> = {} as never;
const BOT_TOKEN = '123456:test-bot-token-must-never-print';
const env = () => ({
  TELEGRAM_BOT_TOKEN: BOT_TOKEN,
  TELEGRAM_ADMIN_CHAT_ID: '-1001',
  AGENTMEM_TELEGRAM_BASE_URL: sinks.telegram.url,
  AGENTMEM_ALERT_WEBHOOK_URL: `${sinks.webhook.url}/hook`,
  AGENTMEM_ALERTMANAGER_URL: sinks.alertmanager.url,
});
const cli = (args: string[], extraEnv: Record<string, string> = {}) => runCli(args, { cwd, env: { ...env(), ...extraEnv } });

beforeAll(async () => {
  sinks.telegram = await HttpSink.start();
  sinks.webhook = await HttpSink.start();
  sinks.alertmanager = await HttpSink.start();
  cwd = mkdtempSync(join(tmpdir(), 'agentmem-ops-'));
  writeFileSync(
    join(cwd, 'agentmem.config.json'),
    JSON.stringify({
      providers: cluster.servers.map((s) => ({ name: s.name, url: s.url(), timeouts: { connectMs: 1500 } })),
      replication: { intervalMs: 200 },
      monitor: { alerts: { retries: 1, backoffMs: 20, timeoutMs: 2000 } },
    }),
  );
});
afterAll(async () => {
  for (const sink of Object.values(sinks)) await sink?.close();
});

type Report = {
  checkedAt: string;
  state: string;
  reasons: string[];
  providers: {
    name: string;
    up: boolean;
    probeMs: number | null;
    testQuery: { ok: boolean };
    counts: Record<string, number> | null;
    breaker: string;
  }[];
};
const parse = (stdout: string) => JSON.parse(stdout) as Report;

describe('a provider whose host does not resolve', () => {
  it('is a provider failure: writes go to the next provider; health, verify, doctor and the alert say DNS', async () => {
    // A name under .invalid never resolves (RFC 6761): the incident the system we replace went down on.
    const dir = mkdtempSync(join(tmpdir(), 'agentmem-dns-'));
    const p1 = cluster.server('p1');
    writeFileSync(
      join(dir, 'agentmem.config.json'),
      JSON.stringify({
        providers: [
          { name: 'cloud', url: `postgresql://agentmem:${TEST_PASSWORD}@db.agentmem-seed.invalid:5432/agentmem`, role: 'primary' },
          { name: 'p1', url: p1.url() },
        ],
        monitor: { alerts: { retries: 1, backoffMs: 20, timeoutMs: 2000 } },
      }),
    );
    const memory = await createMemory({ workers: false, config: await loadConfig({ cwd: dir, env: {} }), tenant: 'dns' });
    try {
      const id = await memory.memories.remember({ type: 'log', content: 'written while cloud does not resolve' });
      expect(p1.psql(`SELECT count(*) FROM agentmem.memories WHERE tenant_id = 'dns' AND id = '${id}'`).trim()).toBe('1');
    } finally {
      await memory.close();
    }
    const run = (args: string[]) => runCli(args, { cwd: dir, env: env() });
    const health = await run(['health', '--json', '--alert']);
    expect(health.code).toBe(1);
    const cloud = (JSON.parse(health.stdout) as { providers: { name: string; error?: { reason?: string; message: string } }[] })
      .providers[0];
    expect(cloud?.error).toMatchObject({
      reason: 'dns',
      message: expect.stringMatching(/DNS: db\.agentmem-seed\.invalid does not resolve/),
    });
    const alerts = [...sinks.webhook.take(), ...sinks.telegram.take(), ...sinks.alertmanager.take()];
    expect(alerts.length).toBeGreaterThan(0);
    expect(alerts.every((a) => /DNS: db\.agentmem-seed\.invalid does not resolve/.test(JSON.stringify(a.body)))).toBe(true);
    const verify = await run(['verify', '--json']);
    expect(verify.code).toBe(1);
    const checks = (JSON.parse(verify.stdout) as { checks: { check: string; status: string; detail: string }[] }).checks;
    expect(checks.find((c) => c.check === 'reachable:cloud')).toMatchObject({ status: 'FAIL', detail: expect.stringMatching(/DNS/) });
    expect(checks.find((c) => c.check === 'reachable:p1')?.status).toBe('PASS');
    const doctor = await run(['doctor']);
    expect(doctor.stdout).toMatch(/cloud .*DNS: db\.agentmem-seed\.invalid does not resolve/);
    // What it says leads to the page that explains it.
    expect(readFileSync(join(import.meta.dirname, '../../docs/ops/TROUBLESHOOTING.md'), 'utf8')).toMatch(/DNS: <host> does not resolve/);
  });
});

describe('agentmem health and alerts', () => {
  it('exit 0/1/2 for all up, one SIGKILLed, all down; JSON only on stdout; one alert per condition and a recovery notice', async () => {
    const up = await cli(['health', '--json', '--alert']);
    expect(up.code).toBe(0);
    const healthy = parse(up.stdout);
    expect(healthy.state).toBe('healthy');
    expect(healthy.checkedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(healthy.providers.map((p) => p.name)).toEqual(['p1', 'p2', 'p3']);
    for (const p of healthy.providers) {
      expect(p.up).toBe(true);
      expect(p.probeMs).toBeGreaterThan(0);
      expect(p.testQuery.ok).toBe(true);
      expect(Object.keys(p.counts ?? {}).sort()).toEqual(['checkpoints', 'knowledge_atoms', 'memories', 'sessions', 'settings']);
    }
    expect(Object.values(sinks).every((s) => s.take().length === 0)).toBe(true);

    await cluster.server('p2').kill();
    const degraded = await cli(['health', '--json', '--alert', '--timeout', '2s']);
    expect(degraded.code).toBe(1);
    const report = parse(degraded.stdout);
    expect(report.state).toBe('degraded');
    expect(report.providers.find((p) => p.name === 'p2')).toMatchObject({ up: false, probeMs: null, counts: null, breaker: 'open' });
    expect(report.reasons.join(' ')).toContain('p2 is down');
    const telegram = sinks.telegram.take();
    expect(telegram.map((r) => r.path)).toEqual([`/bot${BOT_TOKEN}/sendMessage`, `/bot${BOT_TOKEN}/sendMessage`]);
    expect(telegram.map((r) => (r.body as { chat_id: string }).chat_id)).toEqual(['-1001', '-1001']);
    expect(telegram.map((r) => (r.body as { text: string }).text).join('\n')).toContain('p2 is down');
    const hooks = sinks.webhook.take().map((r) => r.body as { status: string; key: string });
    expect(hooks.map((h) => `${h.status} ${h.key}`).sort()).toEqual(['firing degraded', 'firing provider_down:p2']);
    const am = sinks.alertmanager.take();
    expect(am.every((r) => r.path === '/api/v2/alerts')).toBe(true);
    expect(am.map((r) => (r.body as { labels: { alertname: string } }[])[0]?.labels.alertname).sort()).toEqual([
      'agentmem_degraded',
      'agentmem_provider_down',
    ]);
    for (const text of [degraded.stdout, degraded.stderr]) expect(text).not.toContain(BOT_TOKEN);

    // Still down: the same conditions, no new alerts for people; Alertmanager gets both active alerts again
    // (it resolves an alert nobody re-sends within its resolve_timeout).
    expect((await cli(['health', '--json', '--alert', '--timeout', '2s'])).code).toBe(1);
    expect([sinks.telegram.take().length, sinks.webhook.take().length]).toEqual([0, 0]);
    const reposted = sinks.alertmanager.take().map((r) => (r.body as { labels: { alertname: string }; endsAt: string }[])[0]);
    expect(reposted.map((a) => a?.labels.alertname).sort()).toEqual(['agentmem_degraded', 'agentmem_provider_down']);
    expect(reposted.every((a) => Date.parse(a?.endsAt ?? '') > Date.now())).toBe(true);

    // A failing channel is retried, then given up on; the others still deliver and the exit code still tells the health.
    sinks.webhook.status = 500;
    await cluster.server('p1').kill();
    await cluster.server('p3').kill();
    const down = await cli(['health', '--json', '--alert', '--timeout', '2s']);
    expect(down.code).toBe(3);
    expect(parse(down.stdout).state).toBe('down');
    const downHooks = sinks.webhook.take();
    const downAm = sinks.alertmanager
      .take()
      .map((r) => (r.body as { labels: { alertname: string; provider?: string }; endsAt?: string }[])[0]);
    // all_down + provider_down p1, p3 fire; degraded clears: 4 events, each tried twice (retries: 1) on the failing webhook.
    // Alertmanager also gets provider_down p2 again, still firing. A resolution ends now; a firing alert ends ahead.
    expect(downAm).toHaveLength(5);
    expect(downHooks).toHaveLength(8);
    expect(downAm.filter((a) => Date.parse(a?.endsAt ?? '') <= Date.now()).map((a) => a?.labels.alertname)).toEqual(['agentmem_degraded']);
    expect(down.stderr).toContain('alert channel failed after retries');
    sinks.webhook.status = 200;
    sinks.telegram.take();

    for (const name of ['p1', 'p2', 'p3']) await cluster.server(name).start();
    const recovered = await cli(['health', '--json', '--alert']);
    expect(recovered.code).toBe(0);
    const resolved = sinks.webhook.take().map((r) => r.body as { status: string; key: string });
    expect(resolved.map((h) => `${h.status} ${h.key}`).sort()).toEqual([
      'resolved all_down',
      'resolved provider_down:p1',
      'resolved provider_down:p2',
      'resolved provider_down:p3',
    ]);
    expect(sinks.telegram.take().map((r) => (r.body as { text: string }).text)).toEqual(
      expect.arrayContaining([expect.stringContaining('RESOLVED')]),
    );
  });

  it('--watch prints JSON Lines, one document per check, until interrupted', async () => {
    const watch = startCli(['health', '--json', '--watch', '1'], { cwd });
    // Two complete documents, however slowly this machine runs the checks (a fixed sleep failed under load).
    await watch.waitForStdout((out) => out.split('\n').length > 2, 60_000);
    const result = await watch.stop('SIGINT');
    const lines = result.stdout.trim().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(2);
    for (const line of lines) expect(parse(line).state).toBe('healthy');
    expect(result.code).toBe(0);
  });
});

describe('agentmem verify', () => {
  it('passes every check on a healthy cluster, and fails exactly the drift check when one server drifted', async () => {
    const config = await loadConfig({ cwd, env: {} });
    const memory = await createMemory({ workers: false, config, tenant: 'ops' });
    await memory.atoms.upsert([
      { atomId: 'ops:atom', atomType: 'concept', title: 'Bearing lubrication interval', content: 'Grease every 2000 hours.' },
    ]);
    await memory.close();
    const syncRun = await cli(['sync', 'run']);
    expect(syncRun.code).toBe(0);
    // Before any backup, verify warns; after a verified one, the check passes.
    const early = JSON.parse((await cli(['verify', '--json'])).stdout) as { checks: { check: string; status: string }[] };
    expect(early.checks.find((c) => c.check === 'backup')?.status).toBe('WARN');
    expect((await cli(['backup', 'create'])).code).toBe(0);

    const healthy = await cli(['verify', '--json']);
    const result = JSON.parse(healthy.stdout) as { ok: boolean; checks: { check: string; status: string; detail: string }[] };
    // Connected as the tables' owner (the README's set-up): the database does not enforce tenant isolation, and verify says so.
    expect(result.checks.filter((c) => c.status !== 'PASS').map((c) => `${c.status} ${c.check}`)).toEqual([
      'WARN tenant-isolation:p1',
      'WARN tenant-isolation:p2',
      'WARN tenant-isolation:p3',
    ]);
    expect(result.checks.find((c) => c.check === 'tenant-isolation:p1')?.detail).toMatch(/bypasses row-level security/);
    expect(result.checks.map((c) => c.check)).toEqual(
      expect.arrayContaining([
        'config',
        'reachable:p1',
        'tls:p2',
        'drift:p3',
        'round-trip:p1',
        'round-trip:p3',
        'replication-access:p2',
        'atoms',
        'replication-lag',
        'failover',
        'backup',
      ]),
    );
    expect(result.checks.find((c) => c.check === 'failover')?.detail).toMatch(/routed to p2/);
    expect(healthy.code).toBe(0);

    cluster.server('p3').psql('DROP INDEX agentmem.sessions_agent_idx');
    const drifted = await cli(['verify', '--json']);
    expect(drifted.code).toBe(1);
    const failed = (JSON.parse(drifted.stdout) as typeof result).checks.filter((c) => c.status === 'FAIL');
    expect(failed.map((c) => `${c.status} ${c.check}`)).toEqual(['FAIL drift:p3']);
    expect(failed[0]?.detail).toContain('sessions_agent_idx');

    expect((await cli(['schema', 'fix', '--provider', 'p3', '--yes'])).code).toBe(0);
    expect((await cli(['verify'])).code).toBe(0);
  });
});

/** Metric name → samples ("name{labels}" → value) from the Prometheus text format. */
function parseMetrics(text: string) {
  const types = new Map<string, string>();
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) types.set(type[1] as string, type[2] as string);
    else if (line && !line.startsWith('#')) {
      const m = /^(\S+?)(\{.*\})? (\S+)$/.exec(line);
      if (!m) throw new Error(`not Prometheus text format: ${line}`);
      samples.set(`${m[1]}${m[2] ?? ''}`, Number(m[3]));
    }
  }
  return { types, samples };
}

describe('metrics, monitor and SLA', () => {
  it('serve --metrics exposes Prometheus metrics a scraper can parse', async () => {
    const serve = startCli(['serve', '--metrics', '--port', '0', '--interval', '1s'], { cwd });
    try {
      const listening = JSON.parse(await serve.waitForLog(/metrics endpoint listening/)) as { metrics: string };
      await serve.waitForLog(/health check/);
      const response = await fetch(listening.metrics);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toContain('text/plain');
      const { types, samples } = parseMetrics(await response.text());
      for (const [name, type] of types) {
        expect(name).toMatch(/^agentmem_[a-z_]+$/);
        if (type === 'counter') expect(name).toMatch(/_total$/);
      }
      expect(types.get('agentmem_provider_up')).toBe('gauge');
      expect(types.get('agentmem_probe_duration_seconds')).toBe('histogram');
      expect(types.get('agentmem_query_duration_seconds')).toBe('histogram');
      for (const name of ['p1', 'p2', 'p3']) {
        expect(samples.get(`agentmem_provider_up{provider="${name}"}`)).toBe(1);
        expect(samples.get(`agentmem_table_rows{provider="${name}",table="knowledge_atoms"}`)).toBeGreaterThanOrEqual(1);
        expect(samples.get(`agentmem_probe_duration_seconds_count{provider="${name}"}`)).toBeGreaterThanOrEqual(1);
        expect(samples.has(`agentmem_pool_connections{provider="${name}",state="idle"}`)).toBe(true);
      }
      expect(samples.has('agentmem_replication_lag_seconds{source="p1",target="p2"}')).toBe(true);
      expect((await fetch(listening.metrics.replace('/metrics', '/healthz'))).status).toBe(200);
    } finally {
      const result = await serve.stop();
      expect(result.code).toBe(0);
    }
  });

  it('monitor checks every interval, logs JSON, stops cleanly on SIGTERM; sla reads the history it kept', async () => {
    // Before any history: nothing says the objective holds, so sla does not exit 0.
    const none = await cli(['sla', '--days', '1', '--json']);
    expect(none.code).toBe(1);
    expect((JSON.parse(none.stdout) as { samples: number }).samples).toBe(0);
    const monitor = startCli(['monitor', '--interval', '500ms'], { cwd, env: env() });
    await monitor.waitForLog(/monitor started/);
    const checks = () => monitor.stderr.split('\n').filter((l) => l.includes('"msg":"health check"')).length;
    for (let waited = 0; checks() < 3 && waited < 30_000; waited += 100) await new Promise((r) => setTimeout(r, 100));
    const result = await monitor.stop('SIGTERM');
    expect(result.code).toBe(0);
    const lines = result.stderr.trim().split('\n');
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
    expect(lines.filter((l) => l.includes('"msg":"health check"')).length).toBeGreaterThanOrEqual(3);
    expect(lines.at(-1)).toContain('monitor stopped');
    expect(result.stdout).toBe('');

    const history = readFileSync(join(cwd, '.agentmem', 'health.jsonl'), 'utf8')
      .trim()
      .split('\n');
    expect(history.length).toBeGreaterThanOrEqual(3);
    const sla = await cli(['sla', '--days', '1', '--json']);
    expect(sla.code).toBe(0);
    const report = JSON.parse(sla.stdout) as {
      samples: number;
      system: { availability: number; budgetLeftFraction: number };
      providers: Record<string, { availability: number }>;
    };
    expect(report.samples).toBe(history.length);
    expect(report.system.availability).toBe(1);
    expect(Object.keys(report.providers).sort()).toEqual(['p1', 'p2', 'p3']);
    expect(report.system.budgetLeftFraction).toBe(1);
  });

  it('logs operations slower than the threshold with operation, provider and duration, never their content', async () => {
    const slow = join(cwd, 'slow.json');
    writeFileSync(
      slow,
      JSON.stringify({ providers: [{ name: 'p1', url: cluster.server('p1').url() }], monitor: { slowQueryMs: 1 }, log: { level: 'warn' } }),
    );
    const result = await cli(['--config', slow, 'memory', 'add', '--type', 'log', '--content', 'private words of a user', '--json']);
    expect(result.code).toBe(0);
    const slowLines = result.stderr.split('\n').filter((l) => l.includes('slow query'));
    expect(slowLines.length).toBeGreaterThanOrEqual(1);
    const entry = JSON.parse(slowLines[0] as string) as Record<string, unknown>;
    expect(entry).toMatchObject({ operation: 'memory.remember', provider: 'p1', thresholdMs: 1 });
    expect(entry.durationMs).toBeGreaterThanOrEqual(1);
    expect(result.stderr).not.toContain('private words');
    expect(result.stderr).not.toContain(TEST_PASSWORD);
  });
});
