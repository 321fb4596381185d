import type { AgentMemory } from '../memory/index.js';
import { HealthHistory, type HealthSample } from '../ops/health-history.js';
import { computeSla, type SlaReport } from '../ops/sla.js';
import type { StampedRouterEvent } from '../providers/router-events.js';
import { type LinkStatus, syncStatus } from '../replication/index.js';

export interface ProviderView {
  name: string;
  up: boolean;
  breaker: string;
  latencyMs: number | null;
  writer: boolean;
  fenced: boolean;
  drift: string | null;
}

export interface OverviewSnapshot {
  at: string;
  providers: ProviderView[];
  /** Max replication lag over time (oldest first), and the links at the last sample. */
  lag: { at: string; maxLagSeconds: number }[];
  links: Pick<LinkStatus, 'source' | 'target' | 'table' | 'lagRows' | 'lagSeconds'>[];
  sla: SlaReport;
  events: StampedRouterEvent[];
}

const keep = <T>(list: T[], item: T, max: number) => {
  list.push(item);
  if (list.length > max) list.splice(0, list.length - max);
};

/**
 * What the dashboard shows, sampled in the background by the serving process:
 * each provider as the router sees it, replication lag between the providers
 * it can reach, availability (the monitor's health history, when it keeps one,
 * and this process's own samples) and recent router events.
 */
export class Overview {
  private readonly lag: OverviewSnapshot['lag'] = [];
  private links: OverviewSnapshot['links'] = [];
  private readonly events: StampedRouterEvent[] = [];
  private readonly samples: HealthSample[] = [];
  private providers: ProviderView[] = [];
  private timer: NodeJS.Timeout | undefined;
  private sampling: Promise<void> | undefined;
  private readonly onEvent = (event: StampedRouterEvent) => keep(this.events, event, 100);

  constructor(
    private readonly memory: AgentMemory,
    private readonly intervalMs = 2000,
  ) {}

  /** Resolves once the first sample is taken. */
  start(): Promise<void> {
    this.memory.router?.on('event', this.onEvent);
    this.timer = setInterval(() => void this.sample(), this.intervalMs);
    return this.sample();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.memory.router?.off('event', this.onEvent);
    await this.sampling;
  }

  private sample(): Promise<void> {
    this.sampling ??= this.take().finally(() => {
      this.sampling = undefined;
    });
    return this.sampling;
  }

  private async take(): Promise<void> {
    const router = this.memory.router;
    if (router) {
      this.providers = router.state().map((p) => ({
        name: p.name,
        // Half-open is still being tried: down until the trial succeeds.
        up: p.breaker === 'closed',
        breaker: p.breaker,
        latencyMs: p.latencyMs ?? null,
        writer: p.writer,
        fenced: p.fenced,
        drift: p.drift ?? null,
      }));
      const reachable = router.availableProviders();
      if (reachable.length > 1) {
        try {
          this.links = (await syncStatus(reachable, this.memory.config.schema)).map(({ source, target, table, lagRows, lagSeconds }) => ({
            source,
            target,
            table,
            lagRows,
            lagSeconds,
          }));
        } catch {
          // A provider went away while being read: the next sample tries again.
        }
      }
    } else {
      let up = true;
      try {
        await this.memory.storeContext.read('server.overview', (tx) => tx.query('SELECT 1'), { single: true });
      } catch {
        up = false;
      }
      const name = this.memory.config.providers[0]?.name ?? 'embedded';
      this.providers = [{ name, up, breaker: up ? 'closed' : 'open', latencyMs: null, writer: true, fenced: false, drift: null }];
    }
    const at = new Date().toISOString();
    keep(this.lag, { at, maxLagSeconds: Math.max(0, ...this.links.map((l) => l.lagSeconds)) }, 900);
    keep(
      this.samples,
      {
        at,
        state: this.providers.every((p) => p.up) ? 'healthy' : this.providers.some((p) => p.up) ? 'degraded' : 'down',
        writable: this.providers.some((p) => p.up && !p.drift),
        providers: Object.fromEntries(this.providers.map((p) => [p.name, p.up])),
        intervalSeconds: this.intervalMs / 1000,
      },
      50_000,
    );
  }

  /**
   * What /healthz answers, from the same samples: with a router, each
   * provider as its breaker stands (half-open counts as up: it is being
   * tried) — healthy when all are up, degraded when some; else whether the
   * one database answered.
   */
  health(): { state: string; providers?: { name: string; breaker: string; writer: boolean; fenced: boolean }[] } {
    if (!this.providers.length) return { state: 'unknown' };
    if (!this.memory.router) return { state: this.providers[0]?.up ? 'healthy' : 'down' };
    const providers = this.providers.map(({ name, breaker, writer, fenced }) => ({ name, breaker, writer, fenced }));
    const up = providers.filter((p) => p.breaker === 'closed' || p.breaker === 'half-open').length;
    return { state: up === providers.length ? 'healthy' : up ? 'degraded' : 'down', providers };
  }

  snapshot(): OverviewSnapshot {
    const { history, slo } = this.memory.config.monitor;
    const kept = history.file ? new HealthHistory(history.file, history.retentionDays).read(new Date(Date.now() - 30 * 86_400_000)) : [];
    return {
      at: new Date().toISOString(),
      providers: this.providers,
      lag: this.lag,
      links: this.links,
      sla: computeSla([...kept, ...this.samples], { days: 30, slo }),
      events: [...this.events].reverse(),
    };
  }
}
