import { Cron } from 'croner';
import { listBackups, pruneHistory } from '../backup/index.js';
import type { AgentmemConfig } from '../config/index.js';
import { ConfigError } from '../errors/index.js';
import { logger } from '../observability/logger.js';
import { backupLastVerified, backupRpoTarget, drillRto, drillSuccess, restoreRtoTarget } from '../observability/metrics.js';
import type { Provider, ProviderSet } from '../providers/index.js';
import { type BackupFreshness, backupFreshness, backupProviders, openBackupStore, pruneBackups, restoreDrill } from './backup.js';

/** How often the monitor re-reads the archive store for the freshness it alerts on. */
const FRESHNESS_REFRESH_MS = 5 * 60_000;

/** Checks a cron expression (five fields, or six with seconds) before anything is scheduled. */
export function checkSchedule(expression: string, field: string): void {
  try {
    new Cron(expression, { timezone: 'UTC', paused: true }).stop();
  } catch (error) {
    throw new ConfigError(`${field}: not a cron expression (${(error as Error).message})`, { field });
  }
}

/**
 * What `agentmem monitor` runs on a schedule (cron, UTC): backups of the
 * configured providers, each verified by re-reading and followed by the
 * retention prune; and the weekly restore drill (the newest archive restored
 * into a scratch schema, checked, its time recorded as the RTO). Runs never
 * overlap; a failure is logged and shows in the metrics and alerts.
 */
export class BackupScheduler {
  private jobs: Cron[] = [];
  private freshness: { at: number; value: BackupFreshness } | undefined;
  private running: Promise<unknown> = Promise.resolve();
  /** The kinds of work queued or running: one of each at most. */
  private readonly queued = new Set<'backup' | 'drill'>();
  private stopped = false;
  private readonly startedAt = Date.now();

  constructor(
    private readonly config: AgentmemConfig,
    private readonly providers: ProviderSet,
  ) {
    checkSchedule(config.backup.schedule, 'backup.schedule');
    checkSchedule(config.backup.drill.schedule, 'backup.drill.schedule');
  }

  start(): this {
    // The objectives, for the Prometheus rules to compare with (they fall back to 24 h and 1 h without them).
    backupRpoTarget.set(this.config.backup.rpoHours * 3600);
    restoreRtoTarget.set(this.config.backup.rtoMinutes * 60);
    // No cron `protect`: a tick only queues (request), so it never overlaps itself; runs are kept apart by the queue.
    this.jobs.push(
      new Cron(this.config.backup.schedule, { timezone: 'UTC' }, () => {
        this.request('backup');
      }),
    );
    if (this.config.backup.drill.enabled)
      this.jobs.push(
        new Cron(this.config.backup.drill.schedule, { timezone: 'UTC' }, () => {
          this.request('drill');
        }),
      );
    return this;
  }

  /**
   * Queue a backup or a drill behind the work already queued (runs never
   * overlap), unless one of the same kind is queued or running: false then.
   * Without this, a schedule shorter than a backup (or a slow provider) piled
   * up one more run per tick, and stop() waited for all of them.
   */
  request(kind: 'backup' | 'drill'): boolean {
    if (this.stopped) return false;
    if (this.queued.has(kind)) {
      logger().warn({ kind }, 'scheduled backup work skipped: the last one has not finished');
      return false;
    }
    this.queued.add(kind);
    const run = async (): Promise<unknown> => {
      // Stopped while it waited its turn: it does not start.
      if (this.stopped) return undefined;
      return kind === 'backup' ? this.backupNow() : this.drillNow();
    };
    this.running = this.running
      .then(run, run)
      .catch((error) => logger().error({ err: (error as Error).message }, 'scheduled backup work failed'))
      .finally(() => this.queued.delete(kind));
    return true;
  }

  /** Stop the schedules; the run under way finishes, queued ones do not start. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const job of this.jobs) job.stop();
    this.jobs = [];
    await this.running;
  }

  async backupNow() {
    const store = openBackupStore(this.config);
    try {
      const runs = await backupProviders(this.config, this.providers, store, { verify: true });
      for (const run of runs)
        logger()[run.ok ? 'info' : 'error'](
          { provider: run.provider, id: run.sidecar?.manifest.id, durationMs: run.durationMs, err: run.error ?? run.verification?.error },
          run.ok ? 'scheduled backup done' : 'scheduled backup failed',
        );
      if (runs.some((r) => r.ok)) {
        const plan = await pruneBackups(this.config, store);
        if (plan.remove.length) logger().info({ removed: plan.remove }, 'backup retention applied');
      }
      await this.pruneHistory();
      this.freshness = undefined;
      return runs;
    } finally {
      store.close?.();
    }
  }

  /** The change history's retention, on every provider that answers (one that does not is pruned next time). */
  private async pruneHistory(): Promise<void> {
    const reachable: Provider[] = [];
    for (const name of this.providers.names) {
      try {
        reachable.push(await this.providers.get(name));
      } catch (error) {
        logger().warn({ provider: name, err: (error as Error).message }, 'history retention skipped a provider');
      }
    }
    try {
      const results = await pruneHistory(reachable, this.config.schema, { retentionDays: this.config.history.retentionDays });
      logger().info({ pruned: results }, 'change history retention applied');
    } catch (error) {
      logger().error({ err: (error as Error).message }, 'change history retention failed');
    }
  }

  async drillNow() {
    const store = openBackupStore(this.config);
    try {
      const result = await restoreDrill(this.config, await this.providers.primary(), store);
      const test = result.verification?.restoreTest;
      logger()[result.verification?.ok ? 'info' : 'error'](
        { id: result.id, ok: result.verification?.ok ?? false, rtoMs: test?.durationMs, err: result.verification?.error },
        'restore drill',
      );
      this.freshness = undefined;
      return result;
    } finally {
      store.close?.();
    }
  }

  /** The newest verified backup and the last drill, re-read every few minutes (and after each run); metrics follow it. */
  async currentFreshness(): Promise<BackupFreshness> {
    if (this.freshness && Date.now() - this.freshness.at < FRESHNESS_REFRESH_MS) return this.freshness.value;
    const store = openBackupStore(this.config);
    try {
      const listing = await listBackups(store);
      const value = backupFreshness(this.config, listing);
      // A new deployment has had no chance to back up yet: stale once the monitor has run as long as the limit.
      if (value.newestVerifiedAt === null && Date.now() - this.startedAt < this.config.backup.rpoHours * 3_600_000) value.stale = false;
      // Oldest first, so each provider's gauge ends at its newest verified archive.
      for (const backup of listing.backups.filter((b) => b.verification?.ok).reverse())
        backupLastVerified.set({ provider: backup.provider }, Date.parse(backup.snapshotAt) / 1000);
      if (value.drill) {
        drillSuccess.set(value.drill.ok ? 1 : 0);
        if (value.drill.rtoSeconds !== null) drillRto.set(value.drill.rtoSeconds);
      }
      this.freshness = { at: Date.now(), value };
      return value;
    } finally {
      store.close?.();
    }
  }
}
