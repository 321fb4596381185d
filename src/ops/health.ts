import type { AgentmemConfig } from '../config/index.js';
import { hint } from '../core/commands.js';
import { COUNTED_TABLES, type CountedTable } from '../core/tables.js';
import { AgentmemError } from '../errors/index.js';
import type { BreakerState, PoolStats, Provider, ProviderSet } from '../providers/index.js';
import { readRecentEvents } from '../providers/index.js';
import { syncStatus } from '../replication/index.js';
import { diffSchema, requireAllTenants, schemaOptions } from '../schema/index.js';

export type HealthState = 'healthy' | 'degraded' | 'down';

export { COUNTED_TABLES, type CountedTable } from '../core/tables.js';

export interface ProviderHealthReport {
  name: string;
  kind: string;
  role: string;
  target: string;
  up: boolean;
  /** Round trip of SELECT 1, in ms. */
  probeMs: number | null;
  /** A real read of agentmem's tables on this provider (not through failover): live rows per table. */
  testQuery: { ok: boolean; ms: number | null; error?: string };
  counts: Record<CountedTable, number> | null;
  schemaVersion: number | null;
  drift: { blocking: boolean; differences: number } | null;
  /** Open when this check could not reach it, else the state agentmem processes here last recorded (event log). */
  breaker: BreakerState | 'unknown';
  pool: PoolStats | null;
  /** `reason`: the kind of connection failure when known (dns, refused, network, tls, auth, reset, disk-full). */
  error?: { code: string; message: string; reason?: string };
}

export interface LinkLag {
  source: string;
  target: string;
  lagRows: number;
  lagSeconds: number;
  /** The source is another server than replication knew (restored or replaced); it re-captures from it. */
  sourceChanged?: string;
}

export interface HealthReport {
  /** UTC, ISO 8601. */
  checkedAt: string;
  state: HealthState;
  /** Why the state is not healthy, one line per reason. */
  reasons: string[];
  providers: ProviderHealthReport[];
  replication: { maxLagSeconds: number; maxLagRows: number; links: LinkLag[] } | null;
  durationMs: number;
}

export interface HealthOptions {
  /** Bound on each query of the check (a SIGSTOPped server costs this, not a hang). */
  timeoutMs?: number;
}

/** Exit code for a health state: 0 healthy, 1 degraded, 3 down (2 is bad usage or configuration). */
export const HEALTH_EXIT: Record<HealthState, number> = { healthy: 0, degraded: 1, down: 3 };

/** One direct check of every provider (never through failover), and replication lag between those that are up. */
export async function checkHealth(config: AgentmemConfig, providers: ProviderSet, options: HealthOptions = {}): Promise<HealthReport> {
  const started = performance.now();
  const timeoutMs = options.timeoutMs ?? 5000;
  const recorded = lastRecordedBreakers(config);
  const checked = await Promise.all(
    providers.names.map(async (name): Promise<{ report: ProviderHealthReport; provider?: Provider }> => {
      const report: ProviderHealthReport = {
        ...providers.configured(name),
        up: false,
        probeMs: null,
        testQuery: { ok: false, ms: null },
        counts: null,
        schemaVersion: null,
        drift: null,
        breaker: recorded.get(name) ?? 'unknown',
        pool: null,
      };
      let provider: Provider | undefined;
      try {
        provider = await providers.get(name);
        report.target = provider.describe().target;
        let t = performance.now();
        await provider.query('SELECT 1', [], { timeoutMs });
        report.probeMs = round(performance.now() - t);
        report.up = true;
        t = performance.now();
        try {
          report.counts = await countRows(provider, config.schema, timeoutMs);
          report.testQuery = { ok: true, ms: round(performance.now() - t) };
        } catch (error) {
          report.testQuery = { ok: false, ms: round(performance.now() - t), error: (error as Error).message };
        }
        const drift = await diffSchema(provider, schemaOptions(config));
        report.schemaVersion = drift.schemaVersion ?? null;
        report.drift = { blocking: drift.blocking, differences: drift.items.length };
        report.pool = provider.poolStats();
      } catch (error) {
        if (!report.up) report.breaker = 'open';
        const reason = error instanceof AgentmemError ? error.details.reason : undefined;
        report.error = {
          code: error instanceof AgentmemError ? error.code : 'INTERNAL',
          message: (error as Error).message,
          ...(typeof reason === 'string' ? { reason } : {}),
        };
      }
      return { report, ...(report.up && provider ? { provider } : {}) };
    }),
  );
  const reports = checked.map((c) => c.report);
  const up = checked.flatMap((c) => (c.provider ? [c.provider] : []));
  const replication = up.length > 1 ? await replicationLag(up, config) : null;

  const reasons: string[] = [];
  for (const r of reports) {
    if (!r.up) reasons.push(`${r.name} is down: ${r.error?.message ?? 'no answer'}`);
    else if (!r.testQuery.ok) reasons.push(`${r.name}: test query failed: ${r.testQuery.error}`);
    if (r.drift?.blocking) reasons.push(`${r.name}: schema drift blocks writes (${r.drift.differences} difference(s))`);
  }
  for (const link of replication?.links ?? []) {
    if (link.sourceChanged) {
      reasons.push(
        `${link.source} is another server than ${link.target} replicated from (${link.sourceChanged}); replication re-captures everything from it (${hint('syncRun')})`,
      );
    }
  }
  if (replication && replication.maxLagSeconds > config.monitor.replicationLagSeconds) {
    reasons.push(`replication lag ${replication.maxLagSeconds} s is above ${config.monitor.replicationLagSeconds} s`);
  }
  const state: HealthState = up.length === 0 ? 'down' : reasons.length ? 'degraded' : 'healthy';
  return {
    checkedAt: new Date().toISOString(),
    state,
    reasons,
    providers: reports,
    replication,
    durationMs: round(performance.now() - started),
  };
}

/** Live rows of every tenant, through the direct connection: a count of 0 must never mean "hidden by row-level security". */
async function countRows(app: Provider, schema: string, timeoutMs: number): Promise<Record<CountedTable, number>> {
  const provider = app.direct();
  await requireAllTenants(provider, schema);
  const { rows } = await provider.query<Record<CountedTable, string>>(
    `SELECT ${COUNTED_TABLES.map((t) => `(SELECT count(*) FROM ${schema}.${t} WHERE deleted_at IS NULL)::text AS ${t}`).join(', ')}`,
    [],
    { timeoutMs },
  );
  const row = rows[0];
  return Object.fromEntries(COUNTED_TABLES.map((t) => [t, Number(row?.[t] ?? 0)])) as Record<CountedTable, number>;
}

/** Lag per link (all tables together): rows waiting and the age of the oldest. */
async function replicationLag(providers: Provider[], config: AgentmemConfig): Promise<HealthReport['replication']> {
  try {
    const status = await syncStatus(providers, config.schema);
    const links = new Map<string, LinkLag>();
    for (const s of status) {
      const key = `${s.source}→${s.target}`;
      const link = links.get(key) ?? { source: s.source, target: s.target, lagRows: 0, lagSeconds: 0 };
      link.lagRows += s.lagRows;
      link.lagSeconds = Math.max(link.lagSeconds, s.lagSeconds);
      if (s.sourceChanged) link.sourceChanged = s.sourceChanged;
      links.set(key, link);
    }
    const all = [...links.values()];
    return {
      maxLagSeconds: Math.max(0, ...all.map((l) => l.lagSeconds)),
      maxLagRows: Math.max(0, ...all.map((l) => l.lagRows)),
      links: all,
    };
  } catch {
    return null; // a provider failed mid-check: the per-provider results already say so
  }
}

/** The breaker state each provider last had in any agentmem process here (router event log). */
function lastRecordedBreakers(config: AgentmemConfig): Map<string, BreakerState> {
  const states = new Map<string, BreakerState>();
  for (const event of readRecentEvents(config.router.eventLog, 200)) if (event.type === 'breaker') states.set(event.provider, event.state);
  return states;
}

const round = (ms: number) => Math.round(ms * 100) / 100;
