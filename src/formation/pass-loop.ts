import { logger } from '../observability/logger.js';

/**
 * A background worker's loop: one pass, then the next at once while the last
 * found a full batch, else after a rest; a failed pass is logged and tried
 * again after the rest. stop() waits for the pass under way.
 */
export abstract class PassLoop<R> {
  private stopped = true;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> = Promise.resolve();

  /** What the worker is called in its log lines ("embedding", "formation"). */
  protected abstract readonly name: string;

  /** One pass over what waits. */
  abstract runOnce(): Promise<R>;

  /** The rest before the next pass: 0 to go on at once (the pass found a full batch). */
  protected abstract restAfter(result: R | undefined): number;

  /** Whether there is anything for this worker to do at all (a worker with nothing enabled never starts). */
  protected get enabled(): boolean {
    return true;
  }

  private started = false;

  /** stop() was called on a started loop: a long pass may end early. */
  protected get stopping(): boolean {
    return this.started && this.stopped;
  }

  start(): this {
    if (!this.stopped || !this.enabled) return this;
    this.stopped = false;
    this.started = true;
    this.schedule(0);
    return this;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running.catch(() => undefined);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.runOnce().then(
        (result) => this.schedule(this.restAfter(result)),
        (error: unknown) => {
          logger().warn({ err: (error as Error).message }, `${this.name} pass failed; trying again`);
          this.schedule(this.restAfter(undefined));
        },
      );
    }, ms);
    // A process that forgot close() is not kept alive by the rest between passes.
    this.timer.unref();
  }
}
