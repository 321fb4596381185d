import { setTimeout as sleep } from 'node:timers/promises';
import { logger } from '../observability/logger.js';
import type { Router } from '../providers/index.js';
import { runSync } from './links.js';
import type { LinkResult, Replicator } from './replicator.js';
import { REPLICATED_TABLES } from './tables.js';

/**
 * Background replication for a process that owns a router: every interval it
 * replicates between the providers that are up. It also answers the router's
 * catch-up question for a recovered provider: caught up once a pass into it
 * brings nothing new.
 */
export class ReplicationLoop {
  private running = false;
  private loop: Promise<void> | undefined;

  /** Per link ("source>target") and table: the HLC time before which every acknowledged write is on the target. */
  private readonly coverage = new Map<string, Map<string, bigint>>();

  constructor(
    private readonly router: Router,
    private readonly replicator: Replicator,
    private readonly intervalMs: number,
  ) {
    router.catchUp = (name) => this.catchUp(name);
    // Read-your-writes: a provider holds the caller's last write once every table's link from
    // where it was written has covered the time of that write.
    router.replicatedTo = (provider, token) => provider === token.provider || this.covered(token.provider, provider) > token.at;
  }

  /** The time up to which `target` holds everything acknowledged on `source` (every table), 0 when unknown. */
  covered(source: string, target: string): bigint {
    const tables = this.coverage.get(`${source}>${target}`);
    if (!tables || tables.size < REPLICATED_TABLES.length) return 0n;
    let oldest: bigint | undefined; // bigints: Math.min does not apply
    for (const at of tables.values()) if (oldest === undefined || at < oldest) oldest = at;
    return oldest ?? 0n;
  }

  private record(result: LinkResult): void {
    if (!result.coveredAt) return;
    const key = `${result.source}>${result.target}`;
    const tables = this.coverage.get(key) ?? new Map<string, bigint>();
    const at = BigInt(result.coveredAt);
    if (at > (tables.get(result.table) ?? 0n)) tables.set(result.table, at);
    this.coverage.set(key, tables);
  }

  start(): this {
    if (this.running) return this;
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        try {
          const providers = this.router.availableProviders();
          if (providers.length > 1) await runSync(providers, this.replicator, (r) => this.record(r), 2);
        } catch (error) {
          // A provider failing mid-pass is the router's business; the next pass tries again.
          logger().debug({ err: (error as Error).message }, 'replication pass interrupted');
        }
        await sleep(this.intervalMs, undefined, { ref: false });
      }
    })();
    return this;
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  /** Pull everything the other providers have into `name`; true when a pass finds nothing left. */
  async catchUp(name: string): Promise<boolean> {
    const providers = this.router.availableProviders();
    const target = providers.find((p) => p.name === name);
    if (!target) return false;
    for (let pass = 0; pass < 3; pass++) {
      let applied = 0;
      let full = false;
      for (const source of providers) {
        if (source === target) continue;
        for (const r of await this.replicator.sync(source, target)) {
          this.record(r);
          applied += r.applied;
          full ||= r.batches > 1;
        }
      }
      if (!applied && !full) return true;
    }
    return false;
  }
}
