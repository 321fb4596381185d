import { EventEmitter } from 'node:events';
import { hint } from '../core/commands.js';
import { clock } from '../core/hlc.js';
import {
  AbandonedCallError,
  NotDurableError,
  NotFoundError,
  OutcomeUnknownError,
  ProviderNotFoundError,
  ProviderUnavailableError,
} from '../errors/index.js';
import { logger } from '../observability/logger.js';
import {
  BREAKER_STATE_VALUE,
  breakerState,
  driftChecksTotal,
  failoversTotal,
  providerUp,
  recordPoolStats,
  routedCallsTotal,
} from '../observability/metrics.js';
import { isConnectionFailure } from './classify.js';
import { DriftGate } from './drift-gate.js';
import { type ExecutionContext, type ExecutionOptions, type Executor, type RunProgress, runOn } from './executor.js';
import { DEFAULT_HEALTH, ProviderHealth } from './provider-health.js';
import type { ProviderSet } from './provider-set.js';
import { type RouterEvent, recordEvent } from './router-events.js';
import { DEFAULT_ROUTER, type ProviderRouteState, type RouterHooks, type RouterOptions, type WriteToken } from './router-options.js';

export type { ProviderRouteState, RouterHooks, WriteToken } from './router-options.js';

import { Pause } from './timing.js';
import type { Provider, Queryable } from './types.js';

/** How often the silence check runs (at most): the bound on how late it notices. */
const WATCH_TICK_MS = 50;
/** A watch tick this much later than asked means this process was not running (a long synchronous task, a GC pause). */
const STALL_MS = 100;

/**
 * Every read and write goes through here. Writes go to the first available
 * provider in failover order (the configured primary first); a logical
 * operation runs whole on one provider. Only connection-level failures move a
 * call to the next provider, as the same idempotent operation; SQL errors go
 * straight to the caller.
 */
export class Router extends EventEmitter implements Executor {
  private readonly healths: ProviderHealth[];
  private writer: string;
  private readonly fenced = new Set<string>();
  private running = false;
  private pause = new Pause();
  private loop: Promise<void> | undefined;
  private readonly drift: DriftGate;
  /** The first drift check since start(), and what it waited for (`hooks.beforeFirstDriftCheck`'s promise). */
  private firstLook: { waitedFor: Promise<void> | undefined; look: Promise<void> } | undefined;
  private unfencing: Promise<void> | undefined;
  /** The probe out to each provider, if any. */
  private readonly probes = new Map<ProviderHealth, Promise<void>>();

  private constructor(
    readonly providers: ProviderSet,
    healths: ProviderHealth[],
    readonly options: RouterOptions,
    private readonly hooks: RouterHooks,
  ) {
    super();
    this.healths = healths;
    this.drift = new DriftGate(hooks.driftCheck, (event) => this.emitEvent(event));
    this.writer = healths[0]?.name ?? '';
    for (const health of healths) {
      breakerState.set({ provider: health.name }, BREAKER_STATE_VALUE.closed);
      this.watch(health);
      // Every failover series exists at 0 from the start: a counter born at 1 is invisible to increase().
      for (const to of healths) {
        if (to === health) continue;
        for (const kind of ['failover', 'failback'] as const) failoversTotal.inc({ kind, from: health.name, to: to.name }, 0);
      }
      if (hooks.driftCheck) for (const result of ['ok', 'drift', 'error']) driftChecksTotal.inc({ provider: health.name, result }, 0);
    }
  }

  static async open(providers: ProviderSet, options: Partial<RouterOptions> = {}, hooks: RouterHooks = {}): Promise<Router> {
    const merged = { ...DEFAULT_ROUTER, ...options, health: { ...DEFAULT_HEALTH, ...options.health } };
    const healths: ProviderHealth[] = [];
    for (const name of providers.names) healths.push(new ProviderHealth(await providers.get(name), merged.health));
    return new Router(providers, healths, merged, hooks);
  }

  /** Has the replication of `token` reached `provider`? */
  replicatedTo(provider: string, token: WriteToken): boolean {
    return this.hooks.replicatedTo ? this.hooks.replicatedTo(provider, token) : provider === token.provider;
  }

  /**
   * Start watching the providers: a probe (`SELECT 1`, bounded by
   * probeTimeoutMs) to each every probeIntervalMs, one at a time per provider,
   * so a slow provider is never sent a pile of them; and, every tick, the
   * silence check — calls that have waited silenceMs with no answer from
   * their provider open its breaker and move on. Each provider is watched on
   * its own: a hung one never delays another's probes.
   */
  start(): this {
    if (this.running) return this;
    this.running = true;
    this.pause = new Pause();
    // Writes wait for the first drift check, so none lands on a drifted provider at start-up.
    const before = this.hooks.beforeFirstDriftCheck;
    // Not once stopped (closed while the migration ran): the providers are closing too.
    const check = () => (this.running ? this.checkDrift() : Promise.resolve());
    const waitedFor = before?.();
    const firstLook = waitedFor ? waitedFor.then(check, check) : check();
    this.firstLook = { waitedFor, look: firstLook };
    this.drift.startFirst(firstLook);
    for (const h of this.healths) h.watchFrom(this.options.probeIntervalMs);
    const tick = Math.min(WATCH_TICK_MS, this.options.probeIntervalMs);
    this.loop = (async () => {
      let lastRound = Number.NEGATIVE_INFINITY;
      let wakeAt = performance.now();
      while (this.running) {
        // Woken late: this process was stalled (not the providers) for as long.
        const late = performance.now() - wakeAt;
        if (late > STALL_MS) for (const h of this.healths) h.excuseStall(late);
        await Promise.all(this.healths.map((h) => h.openIfSilent(this.options.silenceMs)));
        for (const h of this.healths) this.probeIfDue(h);
        if (performance.now() - lastRound >= this.options.probeIntervalMs) {
          lastRound = performance.now();
          // In the background: a slow schema read must not delay the probes.
          this.drift.checkIfDue(this.healths, this.options.driftCheckMs);
          // In the background too: catching a provider up can take a while, and probes must keep their cadence.
          this.unfencing ??= this.tryUnfence().finally(() => {
            this.unfencing = undefined;
          });
        }
        wakeAt = performance.now() + tick;
        await this.pause.for(tick);
      }
    })();
    return this;
  }

  /** Probe `h` unless a probe to it is still out or went out less than probeIntervalMs ago. */
  private probeIfDue(h: ProviderHealth): void {
    if (h.state === 'isolated' || this.probes.has(h)) return;
    const last = h.lastProbe?.getTime() ?? 0;
    if (Date.now() - last < this.options.probeIntervalMs) return;
    // An open breaker refuses the probe until its backoff has passed; then the probe is its half-open trial.
    const probe = h.probe(this.options.probeTimeoutMs).then((up) => {
      providerUp.set({ provider: h.name }, up ? 1 : 0);
      recordPoolStats(h.name, h.provider.poolStats());
    });
    this.probes.set(
      h,
      probe.finally(() => this.probes.delete(h)),
    );
  }

  async stop(): Promise<void> {
    this.running = false;
    this.pause.wake();
    await this.loop;
    await Promise.all(this.probes.values());
    await this.unfencing;
    this.loop = undefined;
  }

  health(name: string): ProviderHealth {
    const found = this.healths.find((h) => h.name === name);
    if (!found)
      throw new ProviderNotFoundError(
        name,
        this.healths.map((h) => h.name),
      );
    return found;
  }

  /** Providers whose breaker lets calls through now (fenced ones included: they need catching up). */
  availableProviders(): Provider[] {
    return this.healths.filter((h) => h.available).map((h) => h.provider);
  }

  /** The provider writes go to now. */
  get currentWriter(): string {
    return this.writer;
  }

  state(): ProviderRouteState[] {
    return this.healths.map((h, index) => ({
      name: h.name,
      role: index === 0 ? 'primary' : 'replica',
      breaker: h.state,
      latencyMs: h.latencyMs === undefined ? undefined : Math.round(h.latencyMs * 100) / 100,
      lastError: h.lastError,
      fenced: this.fenced.has(h.name),
      drift: this.drift.reason(h.name),
      writer: h.name === this.writer,
    }));
  }

  /**
   * Check every provider for blocking schema drift (in parallel); drifted
   * providers take no writes. A call always gets a check that starts after it
   * was made (a check already under way may have looked before a migration).
   */
  checkDrift(): Promise<void> {
    return this.drift.run(this.healths);
  }

  /**
   * A check that starts after `migration` settled: the first one, when it was
   * the very migration that check waited for (`beforeFirstDriftCheck`), else a
   * new one. With `createMemory({ migrate: true })` the memory API asks once its
   * migration is done; the router's first look already began after it, and a
   * second would read every provider's catalog again for nothing.
   */
  checkDriftAfter(migration: Promise<void>): Promise<void> {
    return this.firstLook && this.firstLook.waitedFor === migration ? this.firstLook.look : this.checkDrift();
  }

  private fence(name: string, reason: string): void {
    if (this.fenced.has(name)) return;
    this.fenced.add(name);
    this.emitEvent({ type: 'fenced', provider: name, reason });
  }

  /** Replication caught `name` up: it may take writes again. */
  confirmCaughtUp(name: string): void {
    if (this.fenced.delete(name)) this.emitEvent({ type: 'unfenced', provider: name });
  }

  async write<T>(operation: string, fn: (tx: Queryable, context: ExecutionContext) => Promise<T>, options?: ExecutionOptions): Promise<T> {
    const ready = this.drift.ready;
    if (ready) await ready;
    const candidates = this.writeCandidates().filter((h) => !this.drift.has(h.name));
    if (!candidates.length && this.drift.size) {
      throw new ProviderUnavailableError(
        'all',
        `every reachable provider has blocking schema drift (${this.drift.describe()}); run ${hint('schemaDiff')}`,
      );
    }
    const { value, provider } = await this.attempt(operation, candidates, fn, options, true);
    if ((options?.ack ?? this.options.ack) === 'sync') await this.makeDurable(provider, clock.now());
    return value;
  }

  /**
   * Sync acknowledgement: before the caller hears success, a second provider
   * must hold everything the writer held when the write was acknowledged — the
   * write itself and whatever it depends on (its session row, earlier
   * messages). The replication layer copies it (`confirmDurable`); re-running
   * the operation elsewhere is no substitute, since there it may find nothing
   * to act on and still "succeed".
   */
  private async makeDurable(writer: string, at: bigint): Promise<void> {
    const confirm = this.hooks.confirmDurable;
    if (!confirm) throw new NotDurableError(writer, 'sync acknowledgement needs replication between the providers, and none is set up');
    const targets = this.healths.filter((h) => h.name !== writer && h.available && !this.drift.has(h.name)).map((h) => h.provider);
    if (!targets.length) throw new NotDurableError(writer, `no provider besides ${writer} is available`);
    const failures: string[] = [];
    for (const target of targets) {
      try {
        await confirm(this.health(writer).provider, target, at);
        return;
      } catch (error) {
        failures.push(`${target.name}: ${(error as Error).message}`);
      }
    }
    throw new NotDurableError(writer, failures.join('; '));
  }

  async read<T>(operation: string, fn: (tx: Queryable, context: ExecutionContext) => Promise<T>, options?: ExecutionOptions): Promise<T> {
    const after = options?.after;
    // Read-your-writes: only providers that hold the caller's last write may answer.
    const holds = (h: ProviderHealth) => !after || this.replicatedTo(h.name, after);
    let candidates: ProviderHealth[];
    if (this.options.readMode === 'nearest') {
      candidates = this.healths
        .filter((h) => h.available && !this.fenced.has(h.name) && holds(h))
        .sort((a, b) => (a.latencyMs ?? Number.POSITIVE_INFINITY) - (b.latencyMs ?? Number.POSITIVE_INFINITY));
    } else {
      candidates = this.writeCandidates().filter(holds);
    }
    if (!candidates.length && after) {
      // Nobody reachable is known to hold the caller's write: ask where it was written (it may be back).
      candidates = this.healths.filter((h) => h.name === after.provider);
    }
    return (await this.attempt(operation, candidates, fn, options, false)).value;
  }

  /** Providers a write may go to, in order: available and not fenced; the primary alone when failover is off. */
  private writeCandidates(): ProviderHealth[] {
    const ordered = this.options.failover ? this.healths : this.healths.slice(0, 1);
    const ready = ordered.filter((h) => h.available && !this.fenced.has(h.name));
    if (ready.length) return ready;
    // Better a recovered provider that is still catching up than no provider at all.
    const up = ordered.filter((h) => h.available);
    // Nothing looks available: the breakers answer at once, so the caller gets a quick, clear error.
    return up.length ? up : ordered;
  }

  private async attempt<T>(
    operation: string,
    candidates: ProviderHealth[],
    fn: (tx: Queryable, context: ExecutionContext) => Promise<T>,
    options: ExecutionOptions | undefined,
    isWrite: boolean,
  ): Promise<{ value: T; provider: string }> {
    const kind = isWrite ? 'write' : 'read';
    const failures: { provider: string; message: string }[] = [];
    // Providers where this write may have committed although the call failed.
    const uncertain: string[] = [];
    let lastError: unknown;
    for (const health of candidates) {
      const progress: RunProgress = { maybeCommitted: false };
      try {
        const result = await health.call(() => runOn(health.provider, fn, options, progress));
        routedCallsTotal.inc({ provider: health.name, kind, outcome: 'ok' });
        if (isWrite) {
          // Providers skipped for this write missed it: they wait for catch-up before taking writes again.
          for (const skipped of failures) this.fence(skipped.provider, `missed writes that went to ${health.name}`);
          this.noteWriter(health.name, describe(failures));
        }
        return { value: result, provider: health.name };
      } catch (error) {
        if (!isConnectionFailure(error)) {
          routedCallsTotal.inc({ provider: health.name, kind, outcome: 'sql_error' });
          // SQL errors are the caller's, on any provider — unless an earlier try may have written.
          if (isWrite && uncertain.length) {
            throw new OutcomeUnknownError(
              uncertain,
              `${describe(failures)}; then ${health.name}: ${(error as Error).message}`,
              {},
              { cause: error },
            );
          }
          if (isWrite && failures.length && error instanceof NotFoundError) {
            // The provider that took over may not have received the row yet: that is not "it does not exist".
            throw new ProviderUnavailableError(
              failures.map((f) => f.provider).join(', '),
              `${describe(failures)}; ${health.name}, which took the write instead, has no such record (yet): ${error.message}`,
              { cause: error },
            );
          }
          throw error;
        }
        routedCallsTotal.inc({ provider: health.name, kind, outcome: 'connection_error' });
        if (isWrite && (progress.maybeCommitted || error instanceof AbandonedCallError)) uncertain.push(health.name);
        lastError = error;
        failures.push({ provider: health.name, message: (error as Error).message });
        logger().debug({ operation, provider: health.name, err: (error as Error).message }, 'call moved to the next provider');
      }
    }
    if (uncertain.length) throw new OutcomeUnknownError(uncertain, describe(failures), {}, { cause: lastError });
    throw new ProviderUnavailableError(
      candidates.length === 1 ? (candidates[0]?.name ?? 'none') : 'all',
      failures.length ? describe(failures) : 'no provider is available',
      { cause: lastError },
    );
  }

  private noteWriter(name: string, reason: string): void {
    if (name === this.writer) return;
    const from = this.writer;
    this.writer = name;
    const primary = this.healths[0]?.name;
    this.emitEvent(
      name === primary
        ? { type: 'failback', from, to: name }
        : { type: 'failover', from, to: name, reason: reason || `${from} unavailable` },
    );
  }

  private watch(health: ProviderHealth): void {
    health.breaker.onBreak((reason) => {
      const message = 'error' in reason ? (reason.error as Error).message : 'isolated';
      this.emitEvent({ type: 'breaker', provider: health.name, state: 'open', reason: message });
    });
    health.breaker.onHalfOpen(() => this.emitEvent({ type: 'breaker', provider: health.name, state: 'half-open' }));
    health.breaker.onReset(() => {
      this.emitEvent({ type: 'breaker', provider: health.name, state: 'closed' });
      // Writes went elsewhere while it was down: it must be caught up before it takes writes again.
      if (health.name !== this.writer && this.healths.indexOf(health) < this.healths.findIndex((h) => h.name === this.writer)) {
        this.fenced.add(health.name);
        this.emitEvent({
          type: 'fenced',
          provider: health.name,
          reason: `recovered while ${this.writer} took writes; waiting for catch-up`,
        });
      }
    });
  }

  private async tryUnfence(): Promise<void> {
    const catchUp = this.hooks.catchUp;
    if (!catchUp) return;
    for (const name of [...this.fenced]) {
      try {
        if (await catchUp(name)) {
          await this.checkDrift();
          this.confirmCaughtUp(name);
        }
      } catch (error) {
        logger().warn({ provider: name, err: (error as Error).message }, 'catch-up check failed');
      }
    }
  }

  private emitEvent(event: RouterEvent): void {
    this.emit('event', recordEvent(event, this.options.eventLog));
  }
}

const describe = (failures: { provider: string; message: string }[]) => failures.map((f) => `${f.provider}: ${f.message}`).join('; ');
