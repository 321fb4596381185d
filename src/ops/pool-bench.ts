/**
 * `agentmem bench pool`: what pool.max a provider wants. A bounded mixed
 * workload — a third each of message appends, remembers and searches (hybrid) —
 * runs against each pool size at increasing concurrency, on the configured
 * provider, in a scratch schema made for the run and dropped after it (the
 * provider's agentmem data is never touched). The recommendation is the
 * smallest pool within 5% of the best throughput whose p99 stays under the
 * target: more connections than that only cost the server memory.
 */
import { randomBytes } from 'node:crypto';
import type { AgentmemConfig, ResolvedProvider } from '../config/index.js';
import { ProviderNotFoundError, UsageError } from '../errors/index.js';
import { ProviderSet } from '../providers/index.js';
import { createMemory } from '../runtime/index.js';

export interface PoolBenchOptions {
  provider?: string;
  /** Pool sizes to try (default 2, 4, 8, 16, 32). */
  sizes?: number[];
  /** Concurrent callers at each size (default 1, 4, 16, 64). */
  concurrency?: number[];
  /** The whole run's length, shared evenly by the cells (default 30 s). */
  durationMs?: number;
  /** The p99 a recommended size must stay under (default monitor.slowQueryMs). */
  p99TargetMs?: number;
  /** Called after each cell (progress). */
  onCell?: (done: number, total: number, cell: PoolBenchCell) => void;
}

export interface PoolBenchCell {
  poolMax: number;
  concurrency: number;
  operations: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

export interface PoolBenchReport {
  provider: string;
  scratchSchema: string;
  cellMs: number;
  p99TargetMs: number;
  cells: PoolBenchCell[];
  /** Per pool size, at the highest concurrency tried: the load a pool of that size is for. */
  bySize: { poolMax: number; perSecond: number; p99Ms: number }[];
  recommendation: { poolMax: number | null; reason: string };
}

/** Within this fraction of the best throughput counts as as good. */
const WITHIN = 0.05;
/** The first part of each cell warms the pool and the plans; it is not counted. */
const WARM_UP_FRACTION = 0.15;

function quantile(sorted: number[], q: number): number {
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

const round = (n: number) => Math.round(n * 100) / 100;

/** The smallest size within WITHIN of the best throughput whose p99 stays under the target (see PoolBenchReport.bySize). */
export function recommendPoolSize(bySize: PoolBenchReport['bySize'], p99TargetMs: number): PoolBenchReport['recommendation'] {
  const best = Math.max(0, ...bySize.map((s) => s.perSecond));
  const fit = bySize.filter((s) => s.perSecond >= best * (1 - WITHIN) && s.p99Ms <= p99TargetMs).sort((a, b) => a.poolMax - b.poolMax)[0];
  if (fit)
    return {
      poolMax: fit.poolMax,
      reason: `the smallest pool within ${WITHIN * 100}% of the best throughput (${best}/s) with p99 ${fit.p99Ms} ms under ${p99TargetMs} ms`,
    };
  return {
    poolMax: null,
    reason: `no pool size kept p99 under ${p99TargetMs} ms near the best throughput (${best}/s): the server, not the pool, is the limit — fewer callers, a larger server, or a higher target`,
  };
}

export async function benchPool(config: AgentmemConfig, options: PoolBenchOptions = {}): Promise<PoolBenchReport> {
  const provider = pickProvider(config, options.provider);
  const sizes = [...new Set(options.sizes ?? [2, 4, 8, 16, 32])].sort((a, b) => a - b);
  const concurrency = [...new Set(options.concurrency ?? [1, 4, 16, 64])].sort((a, b) => a - b);
  const cellMs = Math.max(500, Math.floor((options.durationMs ?? 30_000) / (sizes.length * concurrency.length)));
  const p99TargetMs = options.p99TargetMs ?? config.monitor.slowQueryMs;
  const scratchSchema = `${config.schema}_poolbench_${randomBytes(4).toString('hex')}`;
  const scratch = (poolMax: number): AgentmemConfig => ({
    ...config,
    schema: scratchSchema,
    providers: [{ ...provider, role: 'primary', pool: { ...provider.pool, max: poolMax } }],
  });
  const cells: PoolBenchCell[] = [];
  try {
    for (const poolMax of sizes) {
      // One store per pool size, on a fresh pool of that size; the scratch schema is migrated by the first.
      const root = await createMemory({ config: scratch(poolMax), workers: false, migrate: true });
      try {
        for (const callers of concurrency) {
          // A tenant per cell: each starts from no rows, so a later cell's searches are not slower for the earlier cells' writes.
          const memory = root.forTenant(`cell-${cells.length}`);
          const sessions = await Promise.all(Array.from({ length: 8 }, () => memory.sessions.create({ userId: 'bench' })));
          let n = 0;
          const operation = async () => {
            const i = n++;
            if (i % 3 === 0) await memory.sessions.addMessage(sessions[i % sessions.length]!.id, { role: 'user', content: `message ${i}` });
            else if (i % 3 === 1) await memory.memories.remember({ type: 'log', content: { text: `the conveyor tripped, ${i}` } });
            else await memory.memories.search('conveyor tripped', { k: 5 });
          };
          const cell = await runCell(operation, poolMax, callers, cellMs);
          cells.push(cell);
          options.onCell?.(cells.length, sizes.length * concurrency.length, cell);
        }
      } finally {
        await root.close();
      }
    }
  } finally {
    await dropScratch(config, provider, scratchSchema);
  }
  const top = concurrency[concurrency.length - 1];
  const bySize = sizes.map((poolMax) => {
    const cell = cells.find((c) => c.poolMax === poolMax && c.concurrency === top) as PoolBenchCell;
    return { poolMax, perSecond: cell.perSecond, p99Ms: cell.p99Ms };
  });
  return {
    provider: provider.name,
    scratchSchema,
    cellMs,
    p99TargetMs,
    cells,
    bySize,
    recommendation: recommendPoolSize(bySize, p99TargetMs),
  };
}

function pickProvider(config: AgentmemConfig, name?: string): ResolvedProvider {
  const candidates = config.providers.filter((p) => p.kind !== 'embedded');
  if (!candidates.length) throw new UsageError('bench pool needs a PostgreSQL provider: the embedded database has no pool (one session)');
  if (!name) return candidates[0] as ResolvedProvider;
  const found = candidates.find((p) => p.name === name);
  if (!found)
    throw new ProviderNotFoundError(
      name,
      candidates.map((p) => p.name),
    );
  return found;
}

/** `callers` loops calling operation for cellMs; what they did after the warm-up. */
async function runCell(operation: () => Promise<void>, poolMax: number, callers: number, cellMs: number): Promise<PoolBenchCell> {
  const start = performance.now();
  const countFrom = start + cellMs * WARM_UP_FRACTION;
  const until = start + cellMs;
  const ms: number[] = [];
  let errors = 0;
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (performance.now() < until) {
        const began = performance.now();
        try {
          await operation();
        } catch {
          errors++;
        }
        if (began >= countFrom) ms.push(performance.now() - began);
      }
    }),
  );
  ms.sort((a, b) => a - b);
  const counted = (until - countFrom) / 1000;
  return {
    poolMax,
    concurrency: callers,
    operations: ms.length,
    perSecond: Math.round(ms.length / counted),
    p50Ms: round(quantile(ms, 0.5)),
    p99Ms: round(quantile(ms, 0.99)),
    errors,
  };
}

async function dropScratch(config: AgentmemConfig, provider: ResolvedProvider, schema: string): Promise<void> {
  const set = ProviderSet.fromConfig({ ...config, providers: [provider] });
  try {
    const direct = (await set.get(provider.name)).direct();
    await direct.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await set.close();
  }
}
