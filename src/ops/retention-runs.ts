import type { AgentmemConfig } from '../config/index.js';
import type { AgentMemory, ExpiredCount, PrunedCheckpoints, RetentionPolicies } from '../memory/index.js';
import { logger } from '../observability/logger.js';
import type { Provider, ProviderSet } from '../providers/index.js';
import { Runtime } from '../runtime/index.js';
import { requireAllTenants } from '../schema/index.js';
import { onEachReachable } from './reachable.js';

export interface RetentionReport {
  dryRun: boolean;
  at: string;
  tenants: { tenant: string; types: ExpiredCount[]; checkpoints?: PrunedCheckpoints }[];
  /** Per provider: change-history rows of hard-expired memories removed (null: the provider could not be reached; its rows age out with history.retentionDays). */
  historyRemoved: Record<string, number | null>;
  totals: { expired: number; held: number; checkpoints: number };
  durationMs: number;
}

/** The policies for a tenant: the defaults, with the tenant's own entries in their place. */
export function policiesFor(config: AgentmemConfig, tenant: string): RetentionPolicies {
  return { ...config.retention.types, ...(config.retention.tenants[tenant] ?? {}) };
}

/** Every tenant that holds rows of `table` (an index skip-scan: one probe per tenant, not a read of the table). */
async function tenantsIn(provider: Provider, schema: string, table: 'memories' | 'checkpoints'): Promise<string[]> {
  const { rows } = await provider.query<{ tenant: string }>(
    `WITH RECURSIVE t AS (
       SELECT min(tenant_id) AS tenant FROM ${schema}.${table}
       UNION ALL
       SELECT (SELECT min(tenant_id) FROM ${schema}.${table} WHERE tenant_id > t.tenant) FROM t WHERE t.tenant IS NOT NULL
     ) SELECT tenant FROM t WHERE tenant IS NOT NULL`,
  );
  return rows.map((r) => r.tenant);
}

/**
 * Retention for every tenant: each tenant's memories past their policy's TTL
 * (or their own expiresAt) are expired through the memory API — tombstones
 * on the writing provider that replication carries everywhere — and, for
 * hard expiry, their change history is removed from every provider; LangGraph
 * checkpoints beyond retention.checkpoints go the same way.
 */
export async function runRetention(
  config: AgentmemConfig,
  providers: ProviderSet,
  memory: AgentMemory,
  options: { dryRun?: boolean; tenant?: string; now?: Date; onProgress?: (label: string, done: number, total: number) => void } = {},
): Promise<RetentionReport> {
  const started = performance.now();
  const dryRun = Boolean(options.dryRun);
  const primary = (await providers.primary()).direct();
  await requireAllTenants(primary, config.schema);
  const tenants = options.tenant
    ? [options.tenant]
    : [
        ...new Set([
          ...(await tenantsIn(primary, config.schema, 'memories')),
          ...(await tenantsIn(primary, config.schema, 'checkpoints')),
          ...Object.keys(config.retention.tenants),
        ]),
      ].sort();
  const checkpointPolicy = config.retention.checkpoints;
  const now = options.now ?? new Date();
  const report: RetentionReport = {
    dryRun,
    at: (options.now ?? new Date()).toISOString(),
    tenants: [],
    historyRemoved: {},
    totals: { expired: 0, held: 0, checkpoints: 0 },
    durationMs: 0,
  };
  const hardIds = new Map<string, string[]>();
  for (const tenant of tenants) {
    const result = await memory.forTenant(tenant).retention.expire(
      {
        policies: policiesFor(config, tenant),
        dryRun,
        batchSize: config.retention.batchSize,
        ...(options.now ? { now: options.now } : {}),
      },
      options.onProgress && ((type, done, total) => options.onProgress?.(`${tenant} ${type}`, done, total)),
    );
    const checkpoints = await memory.forTenant(tenant).checkpoints.prune({
      keepLatest: checkpointPolicy.keepLatest,
      before:
        checkpointPolicy.olderThanDays === undefined ? undefined : new Date(now.getTime() - checkpointPolicy.olderThanDays * 86_400_000),
      dryRun,
    });
    const pruned = checkpoints.checkpoints + checkpoints.writes + checkpoints.blobs;
    report.totals.checkpoints += checkpoints.checkpoints;
    if (!result.types.length && !pruned) continue;
    report.tenants.push({ tenant, types: result.types, ...(pruned ? { checkpoints } : {}) });
    for (const t of result.types) {
      report.totals.expired += t.expired;
      report.totals.held += t.held;
    }
    if (result.hardIds.length) hardIds.set(tenant, result.hardIds);
  }
  if (hardIds.size) report.historyRemoved = await removeHistory(config.schema, providers, hardIds);
  report.durationMs = Math.round(performance.now() - started);
  return report;
}

/** The change history of hard-expired memories, from every provider that can be reached. */
function removeHistory(schema: string, providers: ProviderSet, ids: Map<string, string[]>): Promise<Record<string, number | null>> {
  return onEachReachable(providers, 'retention: could not remove history of hard-expired memories', async (provider) => {
    let n = 0;
    for (const [tenant, list] of ids)
      for (let i = 0; i < list.length; i += 5000) {
        const { rowCount } = await provider.query(
          `DELETE FROM ${schema}.change_history WHERE tenant_id = $1 AND table_name = 'memories' AND record_key = ANY($2::text[])`,
          [tenant, list.slice(i, i + 5000)],
        );
        n += rowCount ?? 0;
      }
    return n;
  });
}

/**
 * Retention in `agentmem monitor`: a run at start and every retention.intervalMs,
 * never two at once; a failed run is logged and the next one tries again.
 */
export class RetentionScheduler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private stopped = false;
  private memory: Promise<AgentMemory> | undefined;

  constructor(
    private readonly config: AgentmemConfig,
    private readonly providers: ProviderSet,
    private readonly onReport?: (report: RetentionReport) => void,
  ) {}

  start(): this {
    this.memory = Runtime.over(this.config, this.providers).memory({ actor: 'retention', route: false });
    const tick = () => {
      this.running = this.runOnce().finally(() => {
        if (!this.stopped) this.timer = setTimeout(tick, this.config.retention.intervalMs);
      });
    };
    tick();
    return this;
  }

  private async runOnce(): Promise<void> {
    try {
      const report = await runRetention(this.config, this.providers, await (this.memory as Promise<AgentMemory>));
      logger().info({ expired: report.totals.expired, held: report.totals.held, durationMs: report.durationMs }, 'retention run');
      this.onReport?.(report);
    } catch (error) {
      logger().error({ err: (error as Error).message }, 'retention run failed');
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}
