import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertNotifier, type Condition, WebhookChannel } from '../../src/ops/index.js';
import { HttpSink } from '../harness/http-sink.js';

let sink: HttpSink;
beforeAll(async () => {
  sink = await HttpSink.start();
});
afterAll(async () => {
  await sink.close();
});

const condition = (key: string): Condition => ({
  key,
  name: 'provider_down',
  severity: 'critical',
  provider: key,
  summary: `${key} is down`,
});
const notifier = (options: Partial<ConstructorParameters<typeof AlertNotifier>[1]> = {}) =>
  new AlertNotifier([new WebhookChannel({ url: sink.url, timeoutMs: 1000 })], {
    retries: 2,
    backoffMs: 10,
    rateLimitPerMinute: 100,
    ...options,
  });

describe('AlertNotifier (against a local HTTP server)', () => {
  it('fires once per condition, stays quiet while it persists, and sends a recovery notice when it clears', async () => {
    const n = notifier();
    expect((await n.evaluate([condition('p1')])).events.map((e) => e.status)).toEqual(['firing']);
    expect((await n.evaluate([condition('p1')])).events).toEqual([]);
    const cleared = await n.evaluate([]);
    expect(cleared.events.map((e) => `${e.status} ${e.condition.key}`)).toEqual(['resolved p1']);
    expect(sink.take().map((r) => (r.body as { status: string }).status)).toEqual(['firing', 'resolved']);
  });

  it('rate-limits each channel per minute and counts what it dropped', async () => {
    const n = notifier({ rateLimitPerMinute: 2 });
    const report = await n.evaluate(['a', 'b', 'c', 'd', 'e'].map(condition));
    expect(report.outcomes.map((o) => o.outcome)).toEqual(['sent', 'sent', 'rate_limited', 'rate_limited', 'rate_limited']);
    expect(sink.take()).toHaveLength(2);
    // A minute later the budget is back.
    const later = await n.evaluate([], new Date(Date.now() + 61_000));
    expect(later.outcomes.filter((o) => o.outcome === 'sent')).toHaveLength(2);
    sink.take();
  });

  it('retries a failing channel with backoff, then reports the failure without throwing', async () => {
    sink.status = 503;
    try {
      const report = await notifier({ retries: 2 }).evaluate([condition('x')]);
      expect(report.outcomes).toMatchObject([{ outcome: 'failed', error: expect.stringContaining('HTTP 503') }]);
      expect(sink.take()).toHaveLength(3); // the first attempt and two retries
    } finally {
      sink.status = 200;
    }
  });

  it('keeps active conditions in its state file, so separate runs de-duplicate too', async () => {
    const stateFile = join(mkdtempSync(join(tmpdir(), 'agentmem-alerts-')), 'state.json');
    expect((await notifier({ stateFile }).evaluate([condition('q')])).events).toHaveLength(1);
    expect((await notifier({ stateFile }).evaluate([condition('q')])).events).toHaveLength(0);
    expect((await notifier({ stateFile }).evaluate([])).events.map((e) => e.status)).toEqual(['resolved']);
    sink.take();
  });
});
