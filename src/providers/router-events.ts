import { appendFileSync, mkdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { logger } from '../observability/logger.js';
import { BREAKER_STATE_VALUE, breakerState, breakerTransitionsTotal, failoversTotal } from '../observability/metrics.js';
import type { BreakerState } from './provider-health.js';

/** What the router tells about itself: breaker changes, failover and failback, fencing, drift. */
export type RouterEvent =
  | { type: 'breaker'; provider: string; state: BreakerState; reason?: string }
  | { type: 'failover'; from: string; to: string; reason: string }
  | { type: 'failback'; from: string; to: string }
  | { type: 'fenced'; provider: string; reason: string }
  | { type: 'unfenced'; provider: string }
  | { type: 'drift'; provider: string; reason: string }
  | { type: 'drift-cleared'; provider: string };

export type StampedRouterEvent = RouterEvent & { at: string };

/**
 * Record one router event: logged, counted in the Prometheus metrics, and
 * appended to the event log file (`agentmem status` reads it) when there is one.
 */
export function recordEvent(event: RouterEvent, eventLog: string | undefined): StampedRouterEvent {
  const stamped = { ...event, at: new Date().toISOString() };
  logger().warn({ event }, `router: ${event.type}`);
  if (event.type === 'breaker') {
    breakerState.set({ provider: event.provider }, BREAKER_STATE_VALUE[event.state]);
    breakerTransitionsTotal.inc({ provider: event.provider, state: event.state });
  }
  if (event.type === 'failover' || event.type === 'failback') failoversTotal.inc({ kind: event.type, from: event.from, to: event.to });
  if (eventLog) appendEvent(eventLog, stamped);
  return stamped;
}

const EVENT_LOG_MAX_BYTES = 1024 * 1024;

/** Append one event; the log rolls over to `<file>.1` past 1 MiB. A failing log never fails a call. */
function appendEvent(file: string, event: object): void {
  try {
    mkdirSync(dirname(file), { recursive: true });
    try {
      if (statSync(file).size > EVENT_LOG_MAX_BYTES) renameSync(file, `${file}.1`);
    } catch {
      /* no log yet */
    }
    appendFileSync(file, `${JSON.stringify(event)}\n`);
  } catch (error) {
    logger().warn({ file, err: (error as Error).message }, 'could not write the router event log');
  }
}

/** The newest `count` events of a router event log (oldest first); none when there is no log. */
export function readRecentEvents(file: string | false, count = 20): StampedRouterEvent[] {
  if (!file) return [];
  try {
    const lines = readFileSync(file, 'utf8').trim().split('\n').filter(Boolean);
    return lines.slice(-count).map((line) => JSON.parse(line));
  } catch {
    return [];
  }
}
