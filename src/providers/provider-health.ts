import {
  BrokenCircuitError,
  type CircuitBreakerPolicy,
  CircuitState,
  circuitBreaker,
  ExponentialBackoff,
  handleWhen,
  type IBreaker,
  IsolatedCircuitError,
} from 'cockatiel';
import { CONFIG_DEFAULTS } from '../config/index.js';
import { AbandonedCallError, ProviderTimeoutError, ProviderUnavailableError } from '../errors/index.js';
import { probeDuration } from '../observability/metrics.js';
import { isConnectionFailure } from './classify.js';
import type { Provider } from './types.js';

export type BreakerState = 'closed' | 'open' | 'half-open' | 'isolated';

export interface BreakerOptions {
  /** Consecutive connection failures (real calls or probes) that open the breaker … */
  failureThreshold: number;
  /** … once they have lasted this long: a shorter pause (a GC stall, a restart blip) is ridden out. */
  graceMs: number;
  /** First wait before a half-open trial; doubles up to maxBreakMs. */
  breakMs: number;
  maxBreakMs: number;
  /** Weight of the newest latency sample in the moving average. */
  ewmaAlpha: number;
}

/** The configurable parts come from the config's defaults; the rest are the router's own. */
export const DEFAULT_HEALTH: BreakerOptions = {
  failureThreshold: CONFIG_DEFAULTS.router.failureThreshold,
  graceMs: CONFIG_DEFAULTS.router.graceMs,
  breakMs: CONFIG_DEFAULTS.router.breakMs,
  maxBreakMs: 10_000,
  ewmaAlpha: 0.3,
};

/**
 * Opens after `threshold` consecutive failures spanning at least `graceMs`
 * (cockatiel's ConsecutiveBreaker has no notion of time). A failed half-open
 * trial opens again at once.
 */
export class GraceBreaker implements IBreaker {
  state = { failures: 0, firstFailureAt: 0 };
  private tripped = false;

  constructor(
    private readonly threshold: number,
    private readonly graceMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  success(): void {
    // Every successful call comes here: nothing to reset (and nothing allocated) unless a failure was counted.
    if (this.state.failures) this.state = { failures: 0, firstFailureAt: 0 };
  }

  /** The next failure opens the breaker whatever the count: the provider has been silent too long. */
  trip(): void {
    this.tripped = true;
  }

  failure(circuit: CircuitState): boolean {
    if (this.tripped) {
      this.tripped = false;
      return true;
    }
    if (circuit === CircuitState.HalfOpen) return true;
    const now = this.now();
    if (this.state.failures === 0) this.state.firstFailureAt = now;
    this.state.failures++;
    return this.state.failures >= this.threshold && now - this.state.firstFailureAt >= this.graceMs;
  }
}

/**
 * The router's view of one provider: a circuit breaker (cockatiel) fed by real
 * calls and by active probes, and an exponentially weighted latency average.
 * Only connection-level failures count; SQL errors say nothing about health.
 * There is no cached verdict: the breaker moves with every call.
 */
export class ProviderHealth {
  readonly breaker: CircuitBreakerPolicy;
  private latency: number | undefined;
  private lastErrorMessage: string | undefined;
  private lastProbeAt: Date | undefined;
  private isolation: { dispose(): void } | undefined;
  private readonly grace: GraceBreaker;
  /** When the provider last answered anything (a result or an SQL error), in performance.now() time. */
  private heardAt = performance.now();
  /** Calls sent and not yet answered: when each started. */
  private readonly waiting = new Map<number, number>();
  /** How to abandon each waiting call: one breaker listener rejects them all, instead of one listener per call. */
  private readonly abandoners = new Set<(error: Error) => void>();
  private callCount = 0;
  /** How long the provider may have been quiet before a call without that counting as silence. */
  private quietAllowanceMs = 0;

  constructor(
    readonly provider: Provider,
    private readonly options: BreakerOptions = DEFAULT_HEALTH,
  ) {
    this.grace = new GraceBreaker(options.failureThreshold, options.graceMs);
    this.breaker = circuitBreaker(
      handleWhen((error) => isConnectionFailure(error)),
      {
        halfOpenAfter: new ExponentialBackoff({ initialDelay: options.breakMs, maxDelay: options.maxBreakMs }),
        breaker: this.grace,
      },
    );
    this.breaker.onBreak(() => {
      const abandoned = [...this.abandoners];
      this.abandoners.clear();
      for (const abandon of abandoned) abandon(new AbandonedCallError(this.name));
    });
  }

  get name(): string {
    return this.provider.name;
  }

  get state(): BreakerState {
    if (this.isolation) return 'isolated';
    switch (this.breaker.state) {
      case CircuitState.Open:
        return 'open';
      case CircuitState.HalfOpen:
        return 'half-open';
      case CircuitState.Isolated:
        return 'isolated';
      default:
        return 'closed';
    }
  }

  /** May a call be sent now? (Half-open lets the breaker's own single trial through.) */
  get available(): boolean {
    return this.state === 'closed' || this.state === 'half-open';
  }

  get latencyMs(): number | undefined {
    return this.latency;
  }

  get lastError(): string | undefined {
    return this.lastErrorMessage;
  }

  get lastProbe(): Date | undefined {
    return this.lastProbeAt;
  }

  /**
   * Run fn through the breaker, recording latency. An open breaker is a
   * ProviderUnavailableError; so is the breaker opening (say, on failed probes)
   * while fn still waits — the caller moves on instead of waiting out a hung server.
   */
  async call<T>(fn: () => Promise<T>): Promise<T> {
    const started = performance.now();
    const id = ++this.callCount;
    this.waiting.set(id, started);
    let abandon: ((error: Error) => void) | undefined;
    try {
      const result = await new Promise<T>((resolve, reject) => {
        // The call goes on in the background and may still take effect: `abandoned` says so.
        abandon = reject;
        this.abandoners.add(reject);
        this.breaker.execute(() => fn()).then(resolve, reject);
      });
      this.heardAt = performance.now();
      this.sample(this.heardAt - started);
      return result;
    } catch (error) {
      if (error instanceof BrokenCircuitError || error instanceof IsolatedCircuitError) {
        throw new ProviderUnavailableError(this.name, `circuit breaker is ${this.state}`, { cause: error });
      }
      if (isConnectionFailure(error)) this.lastErrorMessage = (error as Error).message;
      // An SQL error is an answer: the server is there.
      else this.heardAt = performance.now();
      throw error;
    } finally {
      this.waiting.delete(id);
      if (abandon) this.abandoners.delete(abandon);
    }
  }

  /**
   * How long calls have been waiting on a provider that has answered nothing
   * since (0 when nothing waits). A slow provider keeps answering, so this
   * stays near its round trip; a hung one (SIGSTOP, a black-holed path) lets it
   * grow without bound. Counted from the last answer, but never from earlier
   * than one probe interval before the oldest waiting call: a quiet spell
   * before a call is not silence.
   */
  silenceMs(now = performance.now()): number {
    let oldest = Number.POSITIVE_INFINITY;
    for (const started of this.waiting.values()) oldest = Math.min(oldest, started);
    if (oldest === Number.POSITIVE_INFINITY) return 0;
    return now - Math.max(this.heardAt, oldest - this.quietAllowanceMs);
  }

  /**
   * This process did not run for `ms` (a long synchronous task, a GC pause):
   * no answer could be read meanwhile, so that time is not the provider's
   * silence. Answers that arrived during the stall are read only one round
   * trip at a time afterwards (a call of several statements, a connection's
   * handshake), too late for the first check after it.
   */
  excuseStall(ms: number): void {
    const now = performance.now();
    const silence = this.silenceMs(now);
    if (silence > 0) this.heardAt = Math.min(now, now - silence + ms);
  }

  /** Start watching: from now on, `heardAt` is kept fresh by probes at least every `probeIntervalMs`. */
  watchFrom(probeIntervalMs: number): void {
    this.heardAt = performance.now();
    this.quietAllowanceMs = probeIntervalMs;
  }

  /**
   * Open the breaker when calls have waited more than `limitMs` with no
   * answer, abandoning every waiting call (they move to the next provider).
   * Checked again after pending I/O has run, so answers that arrived while this
   * process was busy (a long GC, a CPU-bound callback) are counted first.
   */
  async openIfSilent(limitMs: number): Promise<boolean> {
    if (this.state !== 'closed' || this.silenceMs() <= limitMs) return false;
    await new Promise<void>((resolve) => setImmediate(resolve));
    const silence = this.silenceMs();
    if (this.state !== 'closed' || silence <= limitMs) return false;
    this.grace.trip();
    const verdict = new ProviderTimeoutError(this.name, limitMs, `any waiting call (silent for ${Math.round(silence)} ms)`);
    this.lastErrorMessage = verdict.message;
    await this.breaker.execute(() => Promise.reject(verdict)).catch(() => undefined);
    return true;
  }

  /**
   * One cheap query, bounded by `timeoutMs` as a whole (connecting included: a
   * paused server accepts TCP and then never answers); its outcome feeds the
   * breaker like real traffic.
   */
  async probe(timeoutMs: number): Promise<boolean> {
    this.lastProbeAt = new Date();
    const started = performance.now();
    try {
      await this.call(() => {
        let timer: NodeJS.Timeout | undefined;
        const bound = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new ProviderTimeoutError(this.name, timeoutMs, 'a health probe')), timeoutMs);
        });
        const query = this.provider.ping(timeoutMs);
        query.catch(() => undefined);
        return Promise.race([query, bound]).finally(() => clearTimeout(timer));
      });
      probeDuration.observe({ provider: this.name }, (performance.now() - started) / 1000);
      return true;
    } catch {
      return false;
    }
  }

  /** Hold the breaker open (an operator taking a provider out, or verify's failover check). */
  isolate(): () => void {
    const handle = this.breaker.isolate();
    this.isolation = handle;
    return () => {
      handle.dispose();
      if (this.isolation === handle) this.isolation = undefined;
    };
  }

  private sample(ms: number): void {
    this.latency = this.latency === undefined ? ms : this.options.ewmaAlpha * ms + (1 - this.options.ewmaAlpha) * this.latency;
  }
}
