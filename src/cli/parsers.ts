import { readFileSync, statSync } from 'node:fs';
import { InvalidArgumentError, Option } from 'commander';
import { ValidationError } from '../errors/index.js';

export function positiveInt(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError('must be a positive whole number');
  return Number(value);
}

export function fraction(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError('must be a number from 0 to 1');
  return n;
}

export function collect(value: string, previous: string[] = []): string[] {
  return [
    ...previous,
    ...value
      .split(',')
      .map((v) => v.trim())
      .filter(Boolean),
  ];
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Node's timers take at most 2^31-1 ms; a longer wait fires at once (and a loop spins). */
export const MAX_DURATION_MS = 2 ** 31 - 1;
/** How far back an age (`--older-than 90d`, `--as-of 30d`) may reach: it is no timer, so far past 24 days. */
export const MAX_AGE_MS = 100 * 365 * 86_400_000;

/**
 * A duration such as `500ms`, `30s`, `15m`, `12h`, `7d` (a bare number is
 * seconds), in milliseconds; from `minMs` to `maxMs` (a timer's limit, 24
 * days, unless the duration is an age).
 */
export function duration(value: string, minMs = 1, maxMs = MAX_DURATION_MS): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(value.trim());
  if (!match) throw new InvalidArgumentError('must be a duration such as 500ms, 30s, 15m, 12h or 7d (a bare number is seconds)');
  const ms = Math.round(Number(match[1]) * (UNIT_MS[match[2] ?? 's'] ?? 1000));
  if (ms < minMs) throw new InvalidArgumentError(`must be at least ${formatDuration(minMs)}`);
  if (ms > maxMs) throw new InvalidArgumentError(`must be at most ${maxMs === MAX_DURATION_MS ? '24d' : formatDuration(maxMs)}`);
  return ms;
}

/** A duration as a person writes it: 500ms, 15s, 5m, 12h, 7d. */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/**
 * A `--flag <duration>` option whose default is shown in the units it is written in; at least `minMs` (a loop's
 * interval: 1ms), at most `maxMs` (a timer's limit; MAX_AGE_MS for an age).
 */
export function durationOption(flags: string, description: string, defaultMs?: number, minMs = 1, maxMs = MAX_DURATION_MS): Option {
  const option = new Option(flags, description).argParser((value: string) => duration(value, minMs, maxMs));
  return defaultMs === undefined ? option : option.default(defaultMs, formatDuration(defaultMs));
}

/** A whole number from 1 to `max`. */
export function boundedInt(max: number): (value: string) => number {
  return (value) => {
    const n = positiveInt(value);
    if (n > max) throw new InvalidArgumentError(`must be at most ${max}`);
    return n;
  };
}

/** A point in time: ISO 8601 (`2026-11-25T10:00:00Z`), or a duration ago (`2h` → two hours ago). */
export function pointInTime(value: string): Date {
  if (/^\d+(?:\.\d+)?(ms|s|m|h|d)$/.test(value.trim())) return new Date(Date.now() - duration(value, 1, MAX_AGE_MS));
  const at = new Date(value);
  if (Number.isNaN(at.getTime()))
    throw new InvalidArgumentError('must be a time (ISO 8601, e.g. 2026-11-25T10:00:00Z) or a duration ago (e.g. 2h)');
  return at;
}

/** A file's text, or standard input for `-`; an unreadable file is a usage-class error. */
export function readInput(file: string): string {
  try {
    return readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (error) {
    throw new ValidationError(`cannot read ${file}: ${(error as Error).message}`);
  }
}

/** A file's size, or why it cannot be read (as readInput says it), before anything connects. */
export function fileSize(file: string): number {
  try {
    return statSync(file).size;
  } catch (error) {
    throw new ValidationError(`cannot read ${file}: ${(error as Error).message}`);
  }
}

export function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('must be a port number (0 picks a free one)');
  return n;
}

/** The scope a command's --user, --agent and --session name (only those given). */
export function scopeFlags(flags: { user?: string; agent?: string; session?: string }): {
  userId?: string;
  agentId?: string;
  sessionId?: string;
} {
  return {
    ...(flags.user ? { userId: flags.user } : {}),
    ...(flags.agent ? { agentId: flags.agent } : {}),
    ...(flags.session ? { sessionId: flags.session } : {}),
  };
}
