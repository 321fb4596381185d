import { AccessIncompleteError } from '../errors/index.js';
import { logger } from '../observability/logger.js';
import { Pause, type Provider } from '../providers/index.js';
import { runSync } from './links.js';
import type { Replicator } from './replicator.js';

/**
 * Background replication for a process that owns a router: every interval it
 * replicates between the providers that are up. It also answers the router's
 * catch-up question for a recovered provider (through the hook the runtime, src/runtime/,
 * wires): caught up once a pass into it brings nothing new.
 */
export class ReplicationLoop {
  private running = false;
  private pause = new Pause();
  private loop: Promise<void> | undefined;
  private refusedBecause: string | undefined;

  constructor(
    /** The providers up now (the router's view). */
    private readonly availableProviders: () => Provider[],
    private readonly replicator: Replicator,
    private readonly intervalMs: number,
  ) {}

  start(): this {
    if (this.running) return this;
    this.running = true;
    this.pause = new Pause();
    this.loop = (async () => {
      while (this.running) {
        try {
          const providers = this.availableProviders();
          if (providers.length > 1) await runSync(providers, this.replicator, undefined, 2);
        } catch (error) {
          if (error instanceof AccessIncompleteError) {
            // Nothing replicates until the operator gives it a role that sees every tenant: say so, once per cause.
            if (error.message !== this.refusedBecause) logger().error({ err: error.message }, 'replication refused');
            this.refusedBecause = error.message;
          } else {
            // A provider failing mid-pass is the router's business; the next pass tries again.
            logger().debug({ err: (error as Error).message }, 'replication pass interrupted');
          }
        }
        await this.pause.for(this.intervalMs);
      }
    })();
    return this;
  }

  async stop(): Promise<void> {
    this.running = false;
    this.pause.wake();
    await this.loop;
  }

  /** Pull everything the other providers have into `name`; true when a pass finds nothing left. */
  async catchUp(name: string): Promise<boolean> {
    const providers = this.availableProviders();
    const target = providers.find((p) => p.name === name);
    if (!target) return false;
    for (let pass = 0; pass < 3; pass++) {
      let applied = 0;
      let full = false;
      for (const source of providers) {
        if (source === target) continue;
        for (const r of await this.replicator.sync(source, target)) {
          applied += r.applied;
          full ||= r.batches > 1;
        }
      }
      if (!applied && !full) return true;
    }
    return false;
  }
}
