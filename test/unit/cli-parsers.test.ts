import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { duration, MAX_AGE_MS, pointInTime } from '../../src/cli/parsers.js';

describe('CLI durations', () => {
  it('a wait is at most what a timer holds (24 days); an age reaches further', () => {
    expect(duration('30s')).toBe(30_000);
    expect(() => duration('30d')).toThrow(new InvalidArgumentError('must be at most 24d'));
    expect(duration('90d', 0, MAX_AGE_MS)).toBe(90 * 86_400_000);
    expect(() => duration('40000d', 0, MAX_AGE_MS)).toThrow(/must be at most 36500d/);
    const monthAgo = pointInTime('30d').getTime();
    expect(Math.abs(Date.now() - 30 * 86_400_000 - monthAgo)).toBeLessThan(5_000);
  });
});
