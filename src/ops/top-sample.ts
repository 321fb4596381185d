/**
 * What `agentmem top` shows, gathered once per frame: every provider checked
 * directly (up, latency, breaker, pool, writer or fenced), replication lag per
 * link, the embedding and formation backlogs, the newest verified backup and
 * the last drill, and availability against the SLO from the monitor's health
 * history. Each part is gathered on its own: one that fails says why in its
 * place (a backlog cannot be counted with every provider down), and the
 * others are still there.
 */

import { listBackups } from '../backup/index.js';
import type { AgentmemConfig } from '../config/index.js';
import type { ProviderSet } from '../providers/index.js';
import type { Runtime } from '../runtime/index.js';
import { type BackupFreshness, backupFreshness, drillOverRto, openBackupStore } from './backup.js';
import { checkHealth, type HealthReport } from './health.js';
import { HealthHistory } from './health-history.js';
import { computeSla, type SlaReport } from './sla.js';

export type Gathered<T> = { ok: true; value: T } | { ok: false; error: string };

export interface TopSample {
  at: string;
  health: HealthReport;
  /** Per provider, its probe latencies over the last checks (oldest first; null: no answer). */
  latency: Record<string, (number | null)[]>;
  /** The provider writes go to now: the first in failover order that is up and not fenced. */
  writer: string | null;
  /** Providers whose schema drifted in a way that blocks writes: the router sends them none. */
  fenced: string[];
  embeddings: Gathered<{ waiting: number; oldestSeconds: number | null; failing: number }>;
  formation: Gathered<{ extraction: number; summary: number } | 'off'>;
  backups: Gathered<BackupFreshness>;
  /** The last drill restored, but slower than the RTO (backup.rtoMinutes). */
  drillOverRto: boolean;
  sla: Gathered<SlaReport | null>;
}

/** How many checks a latency sparkline spans. */
export const LATENCY_HISTORY = 20;
/** Backups and the SLA change slowly: read again at most this often. */
const SLOW_PARTS_MS = 30_000;

async function gathered<T>(fn: () => Promise<T>): Promise<Gathered<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
}

export class TopSampler {
  private readonly latency: Record<string, (number | null)[]> = {};
  private slow: { at: number; backups: TopSample['backups']; sla: TopSample['sla'] } | undefined;

  constructor(
    private readonly config: AgentmemConfig,
    private readonly providers: ProviderSet,
    private readonly runtime: Runtime,
    /** How long a provider may take to answer a check (a paused one is down after this). */
    private readonly timeoutMs: number,
  ) {}

  async sample(): Promise<TopSample> {
    const health = await checkHealth(this.config, this.providers, { timeoutMs: this.timeoutMs });
    for (const p of health.providers) {
      const series = this.latency[p.name] ?? [];
      series.push(p.up ? p.probeMs : null);
      this.latency[p.name] = series.slice(-LATENCY_HISTORY);
    }
    const fenced = health.providers.filter((p) => p.drift?.blocking).map((p) => p.name);
    const writer = health.providers.find((p) => p.up && !p.drift?.blocking)?.name ?? null;
    const anyUp = health.providers.some((p) => p.up);
    const down = { ok: false as const, error: 'no provider reachable' };
    const embeddings = anyUp ? await gathered(() => this.runtime.embeddingWorker().status()) : down;
    const { extraction, summaries } = this.config.formation;
    const formation: TopSample['formation'] =
      !extraction.enabled && !summaries.enabled
        ? { ok: true, value: 'off' }
        : anyUp
          ? await gathered(async () => this.runtime.formationWorker(await this.runtime.memory()).status())
          : down;
    if (!this.slow || Date.now() - this.slow.at > SLOW_PARTS_MS) this.slow = { at: Date.now(), ...(await this.slowParts()) };
    return {
      at: health.checkedAt,
      health,
      latency: structuredClone(this.latency),
      writer,
      fenced,
      embeddings: embeddings.ok
        ? {
            ok: true,
            value: { waiting: embeddings.value.waiting, oldestSeconds: embeddings.value.oldestSeconds, failing: embeddings.value.failing },
          }
        : embeddings,
      formation,
      backups: this.slow.backups,
      drillOverRto: this.slow.backups.ok && drillOverRto(this.config, this.slow.backups.value.drill),
      sla: this.slow.sla,
    };
  }

  private async slowParts(): Promise<{ backups: TopSample['backups']; sla: TopSample['sla'] }> {
    const backups = await gathered(async () => {
      const store = openBackupStore(this.config);
      try {
        return backupFreshness(this.config, await listBackups(store));
      } finally {
        store.close?.();
      }
    });
    const { history, slo } = this.config.monitor;
    const sla = await gathered(async () => {
      if (!history.file) return null;
      const samples = new HealthHistory(history.file, history.retentionDays).read(new Date(Date.now() - 30 * 86_400_000));
      return samples.length ? computeSla(samples, { days: 30, slo }) : null;
    });
    return { backups, sla };
  }
}
