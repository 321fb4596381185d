import { setTimeout as sleep } from 'node:timers/promises';
import { isConnectionFailure, type Provider } from '../providers/index.js';
import type { Replicator } from './replicator.js';

interface Waiter {
  at: bigint;
  resolve(): void;
  reject(error: Error): void;
}

interface Link {
  waiters: Waiter[];
  running: boolean;
}

/**
 * Sync acknowledgement by replication, not by running a write twice. A write
 * acknowledged on `source` at HLC time `at` is durable once `target` holds
 * everything `source` held then — the write and what it depends on (its
 * session, the messages before it), whichever provider they came from.
 *
 * Writers waiting on one link share its passes (group commit): one pass copies
 * every waiting write at once, and each waiter is released as soon as the
 * link's coverage passes its time.
 */
export class SyncAcknowledger {
  private readonly links = new Map<string, Link>();

  constructor(private readonly replicator: Replicator) {}

  /** Resolves once `target` holds everything `source` held at `at`; rejects after `timeoutMs` or when a side fails. */
  confirm(source: Provider, target: Provider, at: bigint, timeoutMs: number = source.timeouts.queryMs): Promise<void> {
    if (this.replicator.covered(source.name, target.name) > at) return Promise.resolve();
    const key = `${source.name}>${target.name}`;
    const link = this.links.get(key) ?? { waiters: [], running: false };
    this.links.set(key, link);
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        link.waiters = link.waiters.filter((w) => w !== waiter);
        reject(new Error(`${target.name} did not receive it within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter: Waiter = {
        at,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      link.waiters.push(waiter);
      if (!link.running) void this.flush(link, source, target);
    });
  }

  private async flush(link: Link, source: Provider, target: Provider): Promise<void> {
    link.running = true;
    try {
      while (link.waiters.length) {
        try {
          await this.replicator.sync(source, target);
        } catch (error) {
          if (isConnectionFailure(error)) {
            // One side is gone: the waiters try another target (or fail) now, not at their timeout.
            for (const waiter of link.waiters.splice(0)) waiter.reject(error as Error);
            return;
          }
          // A deadlock with another process's replicator, a serialization failure: the next pass retries.
          await sleep(20);
        }
        const covered = this.replicator.covered(source.name, target.name);
        const done = link.waiters.filter((w) => w.at < covered);
        link.waiters = link.waiters.filter((w) => w.at >= covered);
        for (const waiter of done) waiter.resolve();
      }
    } finally {
      link.running = false;
    }
  }
}
