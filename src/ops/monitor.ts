import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AgentmemConfig } from '../config/index.js';
import { logger } from '../observability/logger.js';
import type { ProviderSet } from '../providers/index.js';
import { Runtime } from '../runtime/index.js';
import { AlertNotifier, channelsFromConfig, conditionsFrom } from './alerts/index.js';
import { BackupScheduler } from './backup-schedule.js';
import { checkHealth, type HealthReport } from './health.js';
import { HealthHistory, sampleOf } from './health-history.js';
import { recordHealthMetrics } from './health-metrics.js';
import { RetentionScheduler } from './retention-runs.js';

export interface MonitorOptions {
  intervalMs: number;
  /** Record samples for `agentmem sla`. */
  history: boolean;
  /** Send alerts through the configured channels. */
  alerts: boolean;
  /** Bound on each query of a check (default: the interval, at most 10 s). */
  timeoutMs?: number;
  /** Run scheduled backups and restore drills (config.backup), and alert on stale backups and failed drills. */
  backups?: boolean;
  /** Expire memories by the retention policies (config.retention), at start and every retention.intervalMs. */
  retention?: boolean;
  /** Called after each check (the CLI prints or logs it). */
  onCheck?: (report: HealthReport) => void;
}

/** Where alert state lives between runs: beside the health history, or in memory when there is none. */
function alertStateFile(config: AgentmemConfig): string | false {
  return config.monitor.history.file ? join(dirname(config.monitor.history.file), 'alerts-state.json') : false;
}

function notifierFor(config: AgentmemConfig): AlertNotifier {
  const a = config.monitor.alerts;
  return new AlertNotifier(channelsFromConfig(config), {
    retries: a.retries,
    backoffMs: a.backoffMs,
    rateLimitPerMinute: a.rateLimitPerMinute,
    stateFile: alertStateFile(config),
  });
}

/**
 * The long-running loop: a health check every interval, published as metrics,
 * kept as history, and turned into alerts. One check failing in an unexpected
 * way is logged and the loop goes on; stop() ends it between checks.
 */
export class Monitor {
  private stopping = new AbortController();
  private running: Promise<void> | undefined;
  private last: HealthReport | undefined;
  private readonly history: HealthHistory | undefined;
  private readonly notifier: AlertNotifier | undefined;
  private readonly backups: BackupScheduler | undefined;
  private readonly retention: RetentionScheduler | undefined;

  constructor(
    private readonly config: AgentmemConfig,
    private readonly providers: ProviderSet,
    private readonly options: MonitorOptions,
  ) {
    const file = config.monitor.history.file;
    this.history = options.history && file ? new HealthHistory(file, config.monitor.history.retentionDays) : undefined;
    this.notifier = options.alerts ? notifierFor(config) : undefined;
    this.backups = options.backups ? new BackupScheduler(config, providers) : undefined;
    this.retention = options.retention ? new RetentionScheduler(config, providers) : undefined;
  }

  get lastReport(): HealthReport | undefined {
    return this.last;
  }

  start(): this {
    this.backups?.start();
    this.retention?.start();
    this.running ??= this.loop();
    return this;
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await Promise.all([this.running, this.backups?.stop(), this.retention?.stop()]);
  }

  /** One check: health, metrics, history, alerts. */
  async checkOnce(): Promise<HealthReport> {
    const timeoutMs = this.options.timeoutMs ?? Math.min(this.options.intervalMs, 10_000);
    const report = await checkHealth(this.config, this.providers, { timeoutMs });
    this.last = report;
    recordHealthMetrics(report);
    this.history?.append(sampleOf(report, this.sampleSeconds(report)));
    if (this.notifier) {
      // The archive store being unreachable is itself reported: as no verified backup.
      const backups = this.backups
        ? await this.backups.currentFreshness().catch((error) => {
            logger().error({ err: (error as Error).message }, 'could not read the backup store');
            return { backups: 0, newestVerifiedAt: null, stale: true, drill: null };
          })
        : undefined;
      // Where recall embeds anything, how long the oldest row has waited (an unreachable writer is the health check's to report).
      const embeddings =
        this.config.recall.embed.mode === 'off'
          ? undefined
          : await Runtime.over(this.config, this.providers)
              .embeddingWorker()
              .status()
              .catch(() => undefined);
      await this.notifier.evaluate(conditionsFrom(report, this.config, backups, embeddings));
    }
    this.options.onCheck?.(report);
    return report;
  }

  private previousCheckAt: number | undefined;

  /**
   * The time a sample stands for: since the previous check (a check slowed by
   * timeouts covers its real span), at most two intervals (time the monitor was
   * not running counts neither way), the interval for the first one.
   */
  private sampleSeconds(report: HealthReport): number {
    const at = Date.parse(report.checkedAt);
    const since = this.previousCheckAt === undefined ? this.options.intervalMs : at - this.previousCheckAt;
    this.previousCheckAt = at;
    return Math.min(Math.max(since, 0), 2 * this.options.intervalMs) / 1000;
  }

  private async loop(): Promise<void> {
    const signal = this.stopping.signal;
    while (!signal.aborted) {
      const started = Date.now();
      try {
        await this.checkOnce();
      } catch (error) {
        logger().error({ err: (error as Error).message }, 'health check failed unexpectedly');
      }
      const wait = Math.max(0, this.options.intervalMs - (Date.now() - started));
      await sleep(wait, undefined, { signal }).catch(() => undefined);
    }
  }
}
