import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Wait for `promise`, but at most `ms`. The timer is a normal (ref'd) one and is
 * cleared as soon as the promise settles: an unref'd timer would let Node exit
 * in the middle of the await, and code after it would never run.
 */
export async function boundedWait<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The idle wait between rounds of a background loop (probes, replication).
 * Unref'd, so a process whose owner forgot close() can still exit; and stop()
 * must call wake(), which ends the wait at once, because an awaited unref'd
 * timer lets Node exit in the middle of close() (code after it never runs).
 */
export class Pause {
  private readonly controller = new AbortController();

  async for(ms: number): Promise<void> {
    if (this.controller.signal.aborted) return;
    await sleep(ms, undefined, { ref: false, signal: this.controller.signal }).catch(() => undefined);
  }

  wake(): void {
    this.controller.abort();
  }
}
