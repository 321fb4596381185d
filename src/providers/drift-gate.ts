import { logger } from '../observability/logger.js';
import { driftChecksTotal } from '../observability/metrics.js';
import type { ProviderHealth } from './provider-health.js';
import type { RouterEvent } from './router-events.js';
import type { Provider } from './types.js';

export type DriftCheck = (provider: Provider) => Promise<{ blocking: boolean; summary: string }>;

/**
 * Keeps providers whose schema breaks writes (blocking drift) out of the
 * router's writes. Checks run one after another; a call to check() always gets
 * a check that starts after it was made (one already under way may have looked
 * before a migration).
 */
export class DriftGate {
  private readonly drifted = new Map<string, string>();
  private queue: Promise<void> = Promise.resolve();
  private pending = 0;
  private lastCheck = 0;
  /** What a write waits for: the first check until it has passed, then nothing (no await, no tick, on every write). */
  ready: Promise<void> | undefined;

  constructor(
    private readonly check: DriftCheck | undefined,
    private readonly emit: (event: RouterEvent) => void,
  ) {}

  /** Writes wait for the first check (`startFirst`), so none lands on a drifted provider at start-up. */
  startFirst(check: Promise<void>): void {
    this.ready = check;
    // A check is on its way (it may wait for a migration first): no periodic one starts meanwhile.
    this.pending++;
    check
      .then(
        () => {
          if (this.ready === check) this.ready = undefined;
        },
        () => undefined,
      )
      .finally(() => {
        this.pending--;
      });
  }

  /** Why `name` takes no writes, or undefined when its schema is fine. */
  reason(name: string): string | undefined {
    return this.drifted.get(name);
  }

  has(name: string): boolean {
    return this.drifted.has(name);
  }

  get size(): number {
    return this.drifted.size;
  }

  /** Every drifted provider and why, for an error message. */
  describe(): string {
    return [...this.drifted].map(([name, why]) => `${name}: ${why}`).join('; ');
  }

  /** Start a check now if the last one is older than `everyMs` and none is waiting. */
  checkIfDue(healths: ProviderHealth[], everyMs: number): void {
    if (!this.pending && Date.now() - this.lastCheck > everyMs) void this.run(healths);
  }

  /**
   * Check every available provider, and every drifted one even while it takes
   * no calls (in parallel): a verdict from before a migration must not
   * outlive it because the provider's breaker was open when the router looked
   * again.
   */
  run(healths: ProviderHealth[]): Promise<void> {
    const next = this.queue.then(() => this.checkNow(healths));
    this.queue = next.catch(() => undefined);
    this.pending++;
    return next.finally(() => {
      this.pending--;
    });
  }

  private async checkNow(healths: ProviderHealth[]): Promise<void> {
    this.lastCheck = Date.now();
    const check = this.check;
    if (!check) return;
    await Promise.all(
      healths
        .filter((h) => h.available || this.drifted.has(h.name))
        .map(async (health) => {
          try {
            const result = await check(health.provider);
            driftChecksTotal.inc({ provider: health.name, result: result.blocking ? 'drift' : 'ok' });
            const was = this.drifted.get(health.name);
            if (result.blocking) {
              this.drifted.set(health.name, result.summary);
              if (was === undefined) this.emit({ type: 'drift', provider: health.name, reason: result.summary });
            } else if (was !== undefined) {
              this.drifted.delete(health.name);
              this.emit({ type: 'drift-cleared', provider: health.name });
            }
          } catch (error) {
            driftChecksTotal.inc({ provider: health.name, result: 'error' });
            logger().warn({ provider: health.name, err: (error as Error).message }, 'schema drift check failed');
          }
        }),
    );
  }
}
