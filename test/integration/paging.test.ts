/**
 * Paging through the tools on-call teams run: the shipped
 * docs/ops/alertmanager.yml in a real Alertmanager, PagerDuty's Events API v2,
 * Opsgenie's alert API and a chat webhook played by loopback sinks, and
 * agentmem's own alerts (the monitor's notifier, `agentmem alert test`) fired
 * through it. What arrives is what PagerDuty and Opsgenie would get.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { AlertmanagerChannel, AlertNotifier, type Condition } from '../../src/ops/alerts/index.js';
import { Alertmanager } from '../harness/alertmanager.js';
import { ROOT, runCli } from '../harness/cli.js';
import { HttpSink, type SinkRequest } from '../harness/http-sink.js';
import { freePort } from '../harness/postgres.js';

const ROUTING_KEY = 'R0UT1NGKEY0000000000000000000000';
const OPSGENIE_KEY = 'og-test-key-00000000';
let alertmanager: Alertmanager;
const sinks = {} as Record<'pagerduty' | 'opsgenie' | 'chat', HttpSink>;

beforeAll(async () => {
  sinks.pagerduty = await HttpSink.start();
  sinks.opsgenie = await HttpSink.start();
  sinks.chat = await HttpSink.start();
  // The shipped file as an operator deploys it: its secrets in files, the services' addresses here on loopback.
  const dir = mkdtempSync(join(tmpdir(), 'agentmem-paging-'));
  const secrets: Record<string, string> = {
    'pagerduty-routing-key': ROUTING_KEY,
    'opsgenie-api-key': OPSGENIE_KEY,
    'chat-webhook-url': `${sinks.chat.url}/hooks/agentmem`,
  };
  for (const [name, value] of Object.entries(secrets)) writeFileSync(join(dir, name), value);
  const text = readFileSync(join(ROOT, 'docs/ops/alertmanager.yml'), 'utf8').replaceAll('/etc/alertmanager/secrets/', `${dir}/`);
  const config = parse(text);
  config.global.pagerduty_url = `${sinks.pagerduty.url}/v2/enqueue`;
  config.global.opsgenie_api_url = `${sinks.opsgenie.url}/`;
  // Notifications at once instead of after 30 s: the routing is the file's.
  Object.assign(config.route, { group_wait: '1s', group_interval: '1s' });
  alertmanager = await Alertmanager.start({ config: stringify(config) });
});
afterAll(async () => {
  await alertmanager?.stop();
  for (const sink of Object.values(sinks)) await sink?.close();
});

/** Requests to a sink until one satisfies `match` (the sink keeps the others). */
async function arrival(sink: HttpSink, match: (r: SinkRequest) => boolean, what: string): Promise<SinkRequest> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const found = sink.requests.find(match);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`${what}: nothing within 30 s (got ${JSON.stringify(sink.requests)})`);
    await sleep(200);
  }
}

type PagerDutyEvent = {
  routing_key: string;
  dedup_key: string;
  event_action: string;
  payload: { summary: string; severity: string; custom_details: Record<string, string> };
};
type OpsgenieAlert = { message: string; alias: string; priority: string; tags: string[] };
const pd = (r: SinkRequest) => r.body as PagerDutyEvent;

describe('paging through Alertmanager with docs/ops/alertmanager.yml', () => {
  it('is what amtool check-config accepts, as shipped', () => {
    const check = spawnSync('amtool', ['check-config', join(ROOT, 'docs/ops/alertmanager.yml')], { encoding: 'utf8' });
    expect(check.status, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toMatch(/SUCCESS/);
  });

  it('critical pages PagerDuty, warning goes to Opsgenie, a provider down silences its own lag, and a cleared condition resolves the page', async () => {
    const notifier = new AlertNotifier([new AlertmanagerChannel({ url: alertmanager.url, timeoutMs: 5000 })], {
      retries: 1,
      backoffMs: 20,
      rateLimitPerMinute: 100,
    });
    const conditions: Condition[] = [
      {
        key: 'provider_down:p2',
        name: 'provider_down',
        severity: 'critical',
        provider: 'p2',
        summary: 'p2 is down: DNS: p2.invalid does not resolve',
      },
      { key: 'replication_lag:p2', name: 'replication_lag', severity: 'warning', provider: 'p2', summary: 'p2 is 300 s behind p1' },
      { key: 'replication_lag:p3', name: 'replication_lag', severity: 'warning', provider: 'p3', summary: 'p3 is 120 s behind p1' },
    ];
    await notifier.evaluate(conditions);

    const page = pd(await arrival(sinks.pagerduty, (r) => pd(r).event_action === 'trigger', 'the PagerDuty trigger'));
    expect(sinks.pagerduty.requests[0]?.path).toBe('/v2/enqueue');
    expect(page.routing_key).toBe(ROUTING_KEY);
    expect(page.dedup_key).toMatch(/\S{16,}/);
    expect(page.payload.severity).toBe('critical');
    expect(page.payload.summary).toBe('agentmem_provider_down on p2: p2 is down: DNS: p2.invalid does not resolve');
    expect(page.payload.custom_details).toMatchObject({ provider: 'p2', firing: '1' });

    const opened = await arrival(sinks.opsgenie, (r) => r.path === '/v2/alerts', 'the Opsgenie alert');
    expect(opened.headers.authorization).toBe(`GenieKey ${OPSGENIE_KEY}`);
    const alert = opened.body as OpsgenieAlert;
    expect(alert).toMatchObject({ message: 'agentmem_replication_lag on p3: p3 is 120 s behind p1', priority: 'P3' });
    expect(alert.tags).toContain('agentmem');
    // p2's lag is inhibited by p2 being down: Alertmanager holds it, and it reached nobody.
    const held = (await alertmanager.alerts({ inhibited: true })).find(
      (a) => a.labels.alertname === 'agentmem_replication_lag' && a.labels.provider === 'p2',
    );
    expect(held?.status.state).toBe('suppressed');
    expect(held?.status.inhibitedBy?.length).toBe(1);
    await sleep(2500); // past a group interval: anything else would have been sent by now
    expect(sinks.opsgenie.requests.filter((r) => JSON.stringify(r.body).includes('on p2'))).toEqual([]);
    expect(sinks.pagerduty.requests.filter((r) => pd(r).event_action === 'trigger')).toHaveLength(1);
    expect(sinks.chat.requests).toEqual([]);

    // Everything clears: the page resolves under the same dedup key, the Opsgenie alert is closed by its alias.
    await notifier.evaluate([]);
    const resolved = pd(await arrival(sinks.pagerduty, (r) => pd(r).event_action === 'resolve', 'the PagerDuty resolve'));
    expect(resolved).toMatchObject({ routing_key: ROUTING_KEY, dedup_key: page.dedup_key });
    await arrival(sinks.opsgenie, (r) => r.path === `/v2/alerts/${alert.alias}/close?identifierType=alias`, 'the Opsgenie close');
  });

  it('`agentmem alert test` reaches chat as info and pages as critical, marked as a test, and reports each channel', async () => {
    for (const sink of Object.values(sinks)) sink.take();
    const cwd = mkdtempSync(join(tmpdir(), 'agentmem-alert-test-'));
    const env = { AGENTMEM_ALERTMANAGER_URL: alertmanager.url, AGENTMEM_ALERT_WEBHOOK_URL: `${sinks.chat.url}/direct` };
    const info = await runCli(['alert', 'test', '--json'], { cwd, env });
    expect(info.code).toBe(0);
    expect(JSON.parse(info.stdout)).toMatchObject({
      ok: true,
      severity: 'info',
      outcomes: [
        { channel: 'webhook', outcome: 'sent' },
        { channel: 'alertmanager', outcome: 'sent' },
      ],
    });
    const chat = await arrival(sinks.chat, (r) => r.path === '/hooks/agentmem', 'the chat message');
    expect(JSON.stringify(chat.body)).toMatch(/agentmem_test .*TEST alert from agentmem alert test/);
    expect(JSON.stringify(sinks.chat.requests.find((r) => r.path === '/direct')?.body)).toMatch(/TEST alert/);

    const critical = await runCli(['alert', 'test', '--channel', 'alertmanager', '--severity', 'critical'], { cwd, env });
    expect(critical.code).toBe(0);
    expect(critical.stdout).toMatch(/SENT\s+alertmanager/);
    const page = pd(await arrival(sinks.pagerduty, (r) => pd(r).event_action === 'trigger', 'the test page'));
    expect(page.payload.summary).toMatch(/^agentmem_test: TEST alert from agentmem alert test/);
    expect(page.payload.severity).toBe('critical');

    // A channel that fails is reported, and the exit code says so.
    const failing = await runCli(['alert', 'test', '--channel', 'webhook'], {
      cwd,
      env: { AGENTMEM_ALERT_WEBHOOK_URL: `http://127.0.0.1:${await freePort()}/hook` },
    });
    expect(failing.code).toBe(1);
    expect(failing.stdout).toMatch(/FAILED\s+webhook: could not post: ECONNREFUSED/);
    const unknown = await runCli(['alert', 'test', '--channel', 'pager'], { cwd, env });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no configured alert channel named pager \(configured: webhook, alertmanager\)/);
  });
});
