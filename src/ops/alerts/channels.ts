import { ExponentialBackoff, handleAll, retry } from 'cockatiel';
import { type AgentmemConfig, redact } from '../../config/index.js';
import { ChannelError } from '../../errors/index.js';
import type { Condition } from './conditions.js';

/** A change worth telling someone about: a condition started (firing) or cleared (resolved). */
export interface AlertEvent {
  status: 'firing' | 'resolved';
  condition: Condition;
  /** When the condition started (UTC ISO). */
  since: string;
  at: string;
}

export interface AlertChannel {
  readonly name: string;
  send(event: AlertEvent): Promise<void>;
  /**
   * Re-post every active alert at every evaluation (Alertmanager): it resolves
   * an alert nobody re-sends within its resolve_timeout. A person's channel
   * (Telegram, a webhook) hears of a condition once, and again when it clears.
   */
  readonly repeatsActive?: boolean;
}

async function postJson(url: string, body: unknown, timeoutMs: number): Promise<void> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  }).catch((error: Error) => {
    // fetch says only "fetch failed": what failed is its cause (ECONNREFUSED, ENOTFOUND …). The URL may hold a token: not named.
    const cause = (error.cause ?? {}) as { code?: string; message?: string };
    throw new ChannelError(`could not post: ${redact(cause.code ?? cause.message ?? error.message)}`, { cause: error });
  });
  if (!response.ok) {
    const text = await response.text().catch(() => '');
    // Redacted before it is cut: a secret cut in half would no longer match.
    throw new ChannelError(`HTTP ${response.status}${text ? `: ${redact(text).slice(0, 200)}` : ''}`);
  }
}

export function messageText(event: AlertEvent): string {
  const c = event.condition;
  return event.status === 'firing'
    ? `🔴 agentmem ${c.severity.toUpperCase()}: ${c.summary} (since ${event.since})`
    : `✅ agentmem RESOLVED: ${c.name}${c.provider ? ` on ${c.provider}` : ''} (was: ${c.summary}; ${event.since} → ${event.at})`;
}

/** Telegram Bot API: sendMessage to the admin chat. */
export class TelegramChannel implements AlertChannel {
  readonly name = 'telegram';
  constructor(private readonly options: { baseUrl: string; botToken: string; chatId: string; timeoutMs: number }) {}
  send(event: AlertEvent): Promise<void> {
    const url = `${this.options.baseUrl.replace(/\/$/, '')}/bot${this.options.botToken}/sendMessage`;
    return postJson(
      url,
      { chat_id: this.options.chatId, text: messageText(event), disable_web_page_preview: true },
      this.options.timeoutMs,
    );
  }
}

/** A generic webhook: the event as JSON. */
export class WebhookChannel implements AlertChannel {
  readonly name = 'webhook';
  constructor(private readonly options: { url: string; timeoutMs: number }) {}
  send(event: AlertEvent): Promise<void> {
    return postJson(
      this.options.url,
      { source: 'agentmem', status: event.status, ...event.condition, since: event.since, at: event.at, text: messageText(event) },
      this.options.timeoutMs,
    );
  }
}

/**
 * Prometheus Alertmanager API v2. Active alerts are re-posted at every
 * evaluation with `endsAt` a while ahead (`holdMs`), as Alertmanager expects of
 * a client: if the sender stops (the monitor died), the alert resolves on its
 * own then instead of firing forever. A resolution sets `endsAt` to now.
 */
export class AlertmanagerChannel implements AlertChannel {
  readonly name = 'alertmanager';
  readonly repeatsActive = true;
  constructor(private readonly options: { url: string; timeoutMs: number; holdMs?: number }) {}
  send(event: AlertEvent): Promise<void> {
    const holdMs = this.options.holdMs ?? 5 * 60_000;
    const c = event.condition;
    return postJson(
      `${this.options.url.replace(/\/$/, '')}/api/v2/alerts`,
      [
        {
          labels: {
            alertname: `agentmem_${c.name}`,
            severity: c.severity,
            service: 'agentmem',
            ...(c.provider ? { provider: c.provider } : {}),
          },
          annotations: { summary: c.summary },
          startsAt: event.since,
          endsAt: event.status === 'resolved' ? event.at : new Date(Date.parse(event.at) + holdMs).toISOString(),
        },
      ],
      this.options.timeoutMs,
    );
  }
}

/** The channels the config enables (Telegram needs both a token and a chat id). */
export function channelsFromConfig(config: AgentmemConfig): AlertChannel[] {
  const a = config.monitor.alerts;
  const channels: AlertChannel[] = [];
  if (a.telegram?.botToken && a.telegram.chatId) {
    channels.push(
      new TelegramChannel({
        baseUrl: a.telegram.baseUrl,
        botToken: a.telegram.botToken,
        chatId: a.telegram.chatId,
        timeoutMs: a.timeoutMs,
      }),
    );
  }
  if (a.webhook) channels.push(new WebhookChannel({ url: a.webhook.url, timeoutMs: a.timeoutMs }));
  if (a.alertmanager) {
    // Held a few checks ahead: resolved by Alertmanager only if the monitor stops re-posting it.
    const holdMs = Math.max(5 * 60_000, 3 * config.monitor.intervalMs);
    channels.push(new AlertmanagerChannel({ url: a.alertmanager.url, timeoutMs: a.timeoutMs, holdMs }));
  }
  return channels;
}

/** Retries with exponential backoff (cockatiel), each attempt bounded by the channel's timeout. */
export function withRetries(options: { retries: number; backoffMs: number }) {
  return retry(handleAll, {
    maxAttempts: options.retries,
    backoff: new ExponentialBackoff({ initialDelay: options.backoffMs, maxDelay: options.backoffMs * 16 }),
  });
}
