import { describe, expect, it } from 'vitest';
import { computeSla, type HealthSample } from '../../src/ops/index.js';

const now = new Date('2026-11-25T12:00:00.000Z');
/** One sample a minute for `minutes` minutes ending at `now`; `down(i)` says which minutes a provider was down. */
function samples(minutes: number, down: (i: number) => string[]): HealthSample[] {
  return Array.from({ length: minutes }, (_, i) => {
    const gone = down(i);
    const providers = { a: !gone.includes('a'), b: !gone.includes('b') };
    return {
      at: new Date(now.getTime() - (minutes - i) * 60_000).toISOString(),
      state: gone.length === 2 ? 'down' : gone.length ? 'degraded' : 'healthy',
      writable: providers.a || providers.b,
      providers,
      intervalSeconds: 60,
    } as HealthSample;
  });
}

describe('computeSla', () => {
  it('weights samples by their interval, per provider and for the system (writes possible)', () => {
    // 1000 minutes: a down for 100, b down for 10 of those 100 → the system was down 10 minutes.
    const report = computeSla(
      samples(1000, (i) => (i < 10 ? ['a', 'b'] : i < 100 ? ['a'] : [])),
      { days: 1, slo: 0.999, now },
    );
    expect(report.samples).toBe(1000);
    expect(report.providers.a?.availability).toBe(0.9);
    expect(report.providers.b?.availability).toBe(0.99);
    expect(report.system.availability).toBe(0.99);
    expect(report.system.downSeconds).toBe(600);
    // Budget for a day at 99.9%: 86.4 s; 600 s down spends it (and more).
    expect(report.system.budgetSeconds).toBe(86.4);
    expect(report.system.budgetLeftSeconds).toBe(86.4 - 600);
    // The last hour was clean: no burn.
    expect(report.system.burnRate1h).toBe(0);
  });

  it("burn rate is the last hour's error rate over the allowed error rate", () => {
    // Down 6 of the last 60 minutes: error rate 0.1, allowed 0.001 → burn rate 100.
    const report = computeSla(
      samples(60, (i) => (i >= 54 ? ['a', 'b'] : [])),
      { days: 30, slo: 0.999, now },
    );
    expect(report.system.burnRate1h).toBe(100);
    expect(report.system.availability).toBe(0.9);
  });

  it('reports no data rather than a made-up availability when nothing was observed', () => {
    const report = computeSla([], { days: 30, slo: 0.999, now });
    expect(report.system.availability).toBeNull();
    expect(report.system.burnRate1h).toBeNull();
    expect(report.system.budgetLeftFraction).toBe(1);
  });
});
