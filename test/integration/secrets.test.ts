import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, startCli } from '../harness/cli.js';
import { TEST_PASSWORD } from '../harness/postgres.js';
import { useCluster } from '../harness/router-cluster.js';

/**
 * The test servers' real password is the canary: every command below connects
 * with it (or fails to), with debug logging on, and it must never be printed.
 */
const cluster = useCluster(1);

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
      await runCli(['doctor', '--json'], { cwd: good }),
      await runCli(['doctor'], { cwd: wrongPassword }),
      await runCli(['doctor', '--json'], { cwd: legacyDir, env: legacyEnv }),
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
    // doctor: the whole report (configuration included) with nothing secret; a provider it cannot reach is in its errors.
    const report = JSON.parse(runs[13]?.stdout ?? '{}');
    expect(runs[13]?.code).toBe(0);
    expect(report.versions.agentmem).toMatch(/^\d+\.\d+\.\d+/);
    expect(report.status.value.providers[0]).toMatchObject({ name: 'main', reachable: true, schemaVersion: expect.any(Number) });
    expect(report.config.value.providers[0].name).toBe('main');
    expect(runs[14]?.code).toBe(1);
    expect(runs[14]?.stdout).toMatch(/errors \([1-9]\d*\):[\s\S]*password authentication failed/);
    expect(runs[15]?.code).toBe(1);
    expect(JSON.parse(runs[15]?.stdout ?? '{}').errors.some((e: { source: string }) => e.source === 'provider supabase')).toBe(true);
  });
});

/** A receiver that fails and echoes what it was sent — the URL, the headers, the body — as careless servers do. */
async function echoingFailure(): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (d) => {
      body += d;
    });
    request.on('end', () => {
      response
        .writeHead(500, { 'content-type': 'text/plain' })
        .end(`bad request to ${request.url} with ${JSON.stringify(request.headers)}: ${body}`.padEnd(400, '.'));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Every file agentmem wrote under `dir`, as text (state files, histories, event logs): all but the config itself. */
function filesUnder(dir: string): string {
  let text = '';
  for (const name of readdirSync(dir)) {
    if (name === 'agentmem.config.json') continue;
    const path = join(dir, name);
    text += statSync(path).isDirectory() ? filesUnder(path) : readFileSync(path, 'utf8');
  }
  return text;
}

describe('canary secrets in every configuration place never leave the process', () => {
  it('webhook and Alertmanager URLs (path and query tokens), the Telegram token and the embedder key: 0 occurrences in stdout, stderr, logs, files and /metrics', async () => {
    const server = cluster.servers[0]!;
    const echo = await echoingFailure();
    const canaries = {
      webhookPath: 'CanaryHookPath7a1b2c3d4e5f',
      webhookQuery: 'CanaryHookQuery9z8y7x',
      alertmanagerQuery: 'CanaryAmToken5q6w7e',
      telegram: '123456:CanaryTelegramToken-abcdef',
      embedderKey: 'sk-CanaryEmbedderKey-0123456789abcdef',
    };
    const cwd = configDir({
      providers: [
        { name: 'p1', url: server.url() },
        { name: 'p2', url: server.url({ port: 1 }), timeouts: { connectMs: 300 } },
      ],
      log: { level: 'trace' },
      embedder: { kind: 'openai', baseUrl: `${echo.url}/v1`, apiKey: canaries.embedderKey, dimensions: 8, model: 'canary-embedder' },
      monitor: {
        alerts: {
          webhook: { url: `${echo.url}/hooks/${canaries.webhookPath}?token=${canaries.webhookQuery}` },
          alertmanager: { url: `${echo.url}/am?auth=${canaries.alertmanagerQuery}` },
          telegram: { botToken: canaries.telegram, chatId: '-1001', baseUrl: echo.url },
          retries: 0,
        },
      },
    });
    try {
      const runs = [
        await runCli(['migrate', 'up', '--provider', 'p1'], { cwd }),
        await runCli(['health', '--alert', '--timeout', '1s'], { cwd }),
        await runCli(['health', '--json', '--alert', '--timeout', '1s'], { cwd }),
        await runCli(['verify', '--json'], { cwd }),
        await runCli(['config', 'show', '--json'], { cwd }),
        await runCli(['memory', 'add', '--type', 'log', '--content', 'x'], { cwd }),
        await runCli(['atoms', 'search', 'pump'], { cwd }),
      ];
      const monitor = startCli(['monitor', '--interval', '1s', '--metrics-port', '0', '--log-level', 'trace'], { cwd });
      const listening = await monitor.waitForLog(/metrics endpoint listening/);
      const port = /127\.0\.0\.1:(\d+)\/metrics/.exec(listening)?.[1];
      // Until a check has run and published (a fixed wait was a guess at this machine's speed).
      let metrics = '';
      for (const deadline = Date.now() + 30_000; port && !metrics.includes('agentmem_provider_up{') && Date.now() < deadline; ) {
        await new Promise((r) => setTimeout(r, 200));
        metrics = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text());
      }
      const stopped = await monitor.stop('SIGTERM');
      const everything = [...runs.flatMap((r) => [r.stdout, r.stderr]), stopped.stdout, stopped.stderr, metrics, filesUnder(cwd)].join(
        '\n',
      );
      for (const [name, canary] of Object.entries(canaries)) {
        expect(everything.split(canary).length - 1, name).toBe(0);
      }
      // Not vacuous: the channels were tried and failed, the embedder was called and failed, metrics were served.
      expect(everything).toContain('alert channel failed');
      expect(runs[5]?.code, runs[5]?.stderr).toBe(0);
      expect(runs[6]?.code).toBe(1);
      expect(runs[6]?.stderr).toMatch(/embed/i);
      expect(metrics).toContain('agentmem_provider_up');
    } finally {
      await echo.close();
    }
  });
});
