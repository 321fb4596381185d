import { z } from 'zod';

const retrySchema = z
  .object({
    /** Attempts after the first, with exponential backoff from `backoffMs`. */
    retries: z.number().int().min(0).max(10).default(3),
    /** First wait before a retry (doubled each time). */
    backoffMs: z.number().int().min(10).max(60_000).default(500),
    /** Bound on one delivery attempt. */
    timeoutMs: z.number().int().min(100).max(60_000).default(5_000),
  })
  .strict();

export const MONITOR_DEFAULTS = {
  intervalMs: 60_000,
  slowQueryMs: 500,
  replicationLagSeconds: 60,
  history: { file: './.agentmem/health.jsonl', retentionDays: 400 },
  slo: 0.999,
  alerts: { rateLimitPerMinute: 20, retries: 3, backoffMs: 500, timeoutMs: 5_000 },
} as const;

export const monitorSchema = z
  .object({
    /** How often `agentmem monitor` checks health. */
    intervalMs: z.number().int().min(100).max(86_400_000).default(MONITOR_DEFAULTS.intervalMs),
    /** Operations slower than this are logged (operation, provider, duration; never parameters) and alerted on. */
    slowQueryMs: z.number().int().min(1).max(600_000).default(MONITOR_DEFAULTS.slowQueryMs),
    /** Replication lag (seconds) above which an alert fires. */
    replicationLagSeconds: z.number().min(0).max(86_400).default(MONITOR_DEFAULTS.replicationLagSeconds),
    /** Health history (JSON Lines, one sample per check) for `agentmem sla`; kept this many days. */
    history: z
      .object({
        /** The JSON Lines file the monitor appends a sample to after each check; false for none (then `sla` has nothing to read). */
        file: z.union([z.string().min(1), z.literal(false)]).default(MONITOR_DEFAULTS.history.file),
        /** Samples older than this are dropped from the file. */
        retentionDays: z.number().int().min(1).max(3650).default(MONITOR_DEFAULTS.history.retentionDays),
      })
      .strict()
      .default({ ...MONITOR_DEFAULTS.history }),
    /** Availability objective for the error budget and burn rate (0.999 = 99.9%). */
    slo: z.number().gt(0).lt(1).default(MONITOR_DEFAULTS.slo),
    alerts: retrySchema
      .extend({
        /** At most this many notifications per channel per minute; the rest are dropped and counted. */
        rateLimitPerMinute: z.number().int().min(1).max(10_000).default(MONITOR_DEFAULTS.alerts.rateLimitPerMinute),
        /** Telegram Bot API; the token and chat id come from TELEGRAM_BOT_TOKEN and TELEGRAM_ADMIN_CHAT_ID. */
        telegram: z
          .object({
            /** The Bot API's address (a proxy or a test server). */
            baseUrl: z.string().url().default('https://api.telegram.org'),
            /** The bot's token (a secret: set it in the environment). */
            botToken: z.string().min(1).optional(),
            /** The chat alerts go to. */
            chatId: z.string().min(1).optional(),
          })
          .strict()
          .optional(),
        /** A generic webhook: each alert is POSTed as JSON. */
        webhook: z
          .object({
            /** Where each alert is POSTed (it may carry a token: set it in the environment). */
            url: z.string().url(),
          })
          .strict()
          .optional(),
        /** Prometheus Alertmanager: alerts are POSTed to {url}/api/v2/alerts. */
        alertmanager: z
          .object({
            /** Alertmanager's address. */
            url: z.string().url(),
          })
          .strict()
          .optional(),
      })
      .strict()
      .default({ ...MONITOR_DEFAULTS.alerts }),
  })
  .strict();
