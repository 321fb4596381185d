import { CircuitState } from 'cockatiel';
import { describe, expect, it } from 'vitest';
import { GraceBreaker } from '../../src/providers/provider-health.js';

describe('GraceBreaker', () => {
  it('opens only after enough consecutive failures spanning the grace period', () => {
    let now = 0;
    const breaker = new GraceBreaker(3, 2000, () => now);
    expect(breaker.failure(CircuitState.Closed)).toBe(false); // t=0
    now = 500;
    expect(breaker.failure(CircuitState.Closed)).toBe(false);
    now = 1000;
    expect(breaker.failure(CircuitState.Closed)).toBe(false); // 3 failures, but only 1 s
    now = 2100;
    expect(breaker.failure(CircuitState.Closed)).toBe(true);
  });

  it('a success resets the streak, so a short pause never opens it', () => {
    let now = 0;
    const breaker = new GraceBreaker(3, 2000, () => now);
    for (const t of [0, 700, 1400]) {
      now = t;
      expect(breaker.failure(CircuitState.Closed)).toBe(false);
    }
    breaker.success();
    for (const t of [2100, 2800, 3500]) {
      now = t;
      expect(breaker.failure(CircuitState.Closed)).toBe(false);
    }
  });

  it('a failed half-open trial opens at once', () => {
    const breaker = new GraceBreaker(3, 2000, () => 0);
    expect(breaker.failure(CircuitState.HalfOpen)).toBe(true);
  });
});

describe('GraceBreaker.trip', () => {
  it('makes the next failure open the breaker whatever the count, once', () => {
    const breaker = new GraceBreaker(3, 2000, () => 0);
    breaker.trip();
    expect(breaker.failure(CircuitState.Closed)).toBe(true);
    // Only that one: the streak rules again after it.
    expect(breaker.failure(CircuitState.Closed)).toBe(false);
  });
});
