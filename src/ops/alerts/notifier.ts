import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { logger } from '../../observability/logger.js';
import { alertsSentTotal } from '../../observability/metrics.js';
import { type AlertChannel, type AlertEvent, withRetries } from './channels.js';
import type { Condition } from './conditions.js';

export interface NotifierOptions {
  retries: number;
  backoffMs: number;
  rateLimitPerMinute: number;
  /** Where active conditions are kept between runs (so `health --alert` from cron de-duplicates too); none: in memory. */
  stateFile?: string | false;
}

interface Active {
  condition: Condition;
  since: string;
}

export interface DeliveryReport {
  events: AlertEvent[];
  /** Per channel: sent, failed (after retries) or rate_limited. */
  outcomes: { channel: string; status: AlertEvent['status']; key: string; outcome: 'sent' | 'failed' | 'rate_limited'; error?: string }[];
}

/**
 * Turns conditions into notifications: one when a condition starts, one
 * (recovery) when it clears, nothing while it persists. Each channel is
 * rate-limited and retried with backoff; a channel that keeps failing is
 * logged and counted, and never stops the caller.
 */
export class AlertNotifier {
  private active = new Map<string, Active>();
  private readonly sentAt = new Map<string, number[]>();
  private readonly policy;

  constructor(
    private readonly channels: AlertChannel[],
    private readonly options: NotifierOptions,
  ) {
    this.policy = withRetries(options);
    this.load();
    // Series born at 0, so the first failure after a start is an increase() an alert rule can see.
    for (const channel of channels) {
      for (const outcome of ['sent', 'failed', 'rate_limited'] as const) alertsSentTotal.inc({ channel: channel.name, outcome }, 0);
    }
  }

  get activeKeys(): string[] {
    return [...this.active.keys()];
  }

  /** Compare with what was active, notify the changes, remember the new state. */
  async evaluate(conditions: Condition[], now = new Date()): Promise<DeliveryReport> {
    const at = now.toISOString();
    const next = new Map<string, Active>();
    const events: AlertEvent[] = [];
    for (const condition of conditions) {
      const before = this.active.get(condition.key);
      next.set(condition.key, { condition: before?.condition ?? condition, since: before?.since ?? at });
      if (!before) events.push({ status: 'firing', condition, since: at, at });
    }
    for (const [key, was] of this.active) {
      if (!next.has(key)) events.push({ status: 'resolved', condition: was.condition, since: was.since, at });
    }
    this.active = next;
    this.save();
    const outcomes: DeliveryReport['outcomes'] = [];
    for (const event of events) {
      for (const channel of this.channels) outcomes.push(await this.deliver(channel, event, now.getTime()));
    }
    // Conditions still active: re-posted to the channels that expect it (not rate-limited: they de-duplicate).
    const ongoing = [...next.values()].filter((a) => !events.some((e) => e.condition.key === a.condition.key));
    for (const channel of this.channels.filter((c) => c.repeatsActive)) {
      for (const active of ongoing) {
        const event: AlertEvent = { status: 'firing', condition: active.condition, since: active.since, at };
        outcomes.push(await this.deliver(channel, event, now.getTime(), { repeat: true }));
      }
    }
    return { events, outcomes };
  }

  private async deliver(
    channel: AlertChannel,
    event: AlertEvent,
    now: number,
    options: { repeat?: boolean } = {},
  ): Promise<DeliveryReport['outcomes'][number]> {
    const base = { channel: channel.name, status: event.status, key: event.condition.key };
    if (!options.repeat) {
      const recent = (this.sentAt.get(channel.name) ?? []).filter((t) => now - t < 60_000);
      if (recent.length >= this.options.rateLimitPerMinute) {
        alertsSentTotal.inc({ channel: channel.name, outcome: 'rate_limited' });
        logger().warn({ ...base }, 'alert dropped: channel rate limit reached');
        return { ...base, outcome: 'rate_limited' };
      }
      recent.push(now);
      this.sentAt.set(channel.name, recent);
    }
    try {
      await this.policy.execute(() => channel.send(event));
      alertsSentTotal.inc({ channel: channel.name, outcome: 'sent' });
      if (options.repeat) logger().debug({ ...base }, 'active alert re-posted');
      else logger().info({ ...base }, 'alert sent');
      return { ...base, outcome: 'sent' };
    } catch (error) {
      alertsSentTotal.inc({ channel: channel.name, outcome: 'failed' });
      logger().error({ ...base, err: (error as Error).message }, 'alert channel failed after retries');
      return { ...base, outcome: 'failed', error: (error as Error).message };
    }
  }

  private load(): void {
    const file = this.options.stateFile;
    if (!file || !existsSync(file)) return;
    try {
      const saved = JSON.parse(readFileSync(file, 'utf8')) as { active: Active[] };
      this.active = new Map(saved.active.map((a) => [a.condition.key, a]));
    } catch {
      logger().warn({ file }, 'alert state unreadable: starting with no active alerts');
    }
  }

  private save(): void {
    const file = this.options.stateFile;
    if (!file) return;
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(`${file}.tmp`, JSON.stringify({ active: [...this.active.values()] }));
    renameSync(`${file}.tmp`, file);
  }
}
