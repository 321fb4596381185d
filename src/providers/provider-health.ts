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

  constructor(
    private readonly threshold: number,
    private readonly graceMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  success(): void {
    this.state = { failures: 0, firstFailureAt: 0 };
  }

  failure(circuit: CircuitState): boolean {
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

  constructor(
    readonly provider: Provider,
    private readonly options: BreakerOptions = DEFAULT_HEALTH,
  ) {
    this.breaker = circuitBreaker(
      handleWhen((error) => isConnectionFailure(error)),
      {
        halfOpenAfter: new ExponentialBackoff({ initialDelay: options.breakMs, maxDelay: options.maxBreakMs }),
        breaker: new GraceBreaker(options.failureThreshold, options.graceMs),
      },
    );
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
    let stopWatching: { dispose(): void } | undefined;
    const opened = new Promise<never>((_, reject) => {
      // The call goes on in the background and may still take effect: `abandoned` says so.
      stopWatching = this.breaker.onBreak(() => reject(new AbandonedCallError(this.name)));
    });
    opened.catch(() => undefined);
    try {
      const result = await Promise.race([this.breaker.execute(() => fn()), opened]);
      this.sample(performance.now() - started);
      return result;
    } catch (error) {
      if (error instanceof BrokenCircuitError || error instanceof IsolatedCircuitError) {
        throw new ProviderUnavailableError(this.name, `circuit breaker is ${this.state}`, { cause: error });
      }
      if (isConnectionFailure(error)) this.lastErrorMessage = (error as Error).message;
      throw error;
    } finally {
      stopWatching?.dispose();
    }
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
        const query = this.provider.query('SELECT 1', undefined, { timeoutMs });
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
