/**
 * Pool sizing on a real server: `agentmem bench pool` measures every (pool
 * size, callers) cell in a scratch schema it drops afterwards, and recommends
 * by its rule; the pool's saturation is a metric (how long callers wait).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { registry } from '../../src/observability/metrics.js';
import { type PoolBenchReport, recommendPoolSize } from '../../src/ops/pool-bench.js';
import { runCli } from '../harness/cli.js';
import { pgProvider } from '../harness/providers.js';
import { useCluster } from '../harness/router-cluster.js';

const cluster = useCluster(1, { migrate: true });
let cwd: string;
beforeAll(() => {
  cwd = mkdtempSync(join(tmpdir(), 'agentmem-poolbench-'));
  writeFileSync(join(cwd, 'agentmem.config.json'), JSON.stringify({ providers: [{ name: 'p1', url: cluster.servers[0]!.url() }] }));
});

describe('agentmem bench pool', () => {
  it('measures each pool size at each concurrency in a scratch schema it drops, and recommends a size', async () => {
    const run = await runCli(['bench', 'pool', '--duration', '4s', '--sizes', '1,4', '--concurrency', '1,8', '--json'], {
      cwd,
      timeoutMs: 120_000,
    });
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as PoolBenchReport;
    expect(report.cells.map((c) => `${c.poolMax}x${c.concurrency}`)).toEqual(['1x1', '1x8', '4x1', '4x8']);
    for (const cell of report.cells) {
      expect(cell.operations).toBeGreaterThan(0);
      expect(cell.errors).toBe(0);
      expect(cell.p99Ms).toBeGreaterThanOrEqual(cell.p50Ms);
    }
    expect(report.bySize.map((s) => s.poolMax)).toEqual([1, 4]);
    expect(report.recommendation).toEqual(recommendPoolSize(report.bySize, report.p99TargetMs));
    expect(report.scratchSchema).toMatch(/^agentmem_poolbench_[0-9a-f]{8}$/);
    // Nothing of the run is left on the provider, and the agentmem schema was not touched.
    const schemas = cluster.servers[0]!.psql(`SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'agentmem_poolbench_%'`);
    expect(schemas.trim()).toBe('0');
    expect(cluster.servers[0]!.psql(`SELECT count(*) FROM agentmem.memories`).trim()).toBe('0');

    const human = await runCli(['bench', 'pool', '--duration', '1s', '--sizes', '2', '--concurrency', '2'], { cwd, timeoutMs: 60_000 });
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/POOL +CALLERS +OPS\/S +P50 MS +P99 MS +ERRORS/);
    expect(human.stdout).toMatch(/^ +2 │█+ +\d+\/s, p99 [\d.]+ ms/m);
    expect(human.stdout).toMatch(/recommended pool\.max: 2|no recommendation: /);

    const embedded = await runCli(['bench', 'pool'], { cwd: mkdtempSync(join(tmpdir(), 'agentmem-poolbench-embedded-')) });
    expect(embedded.code).toBe(2);
    expect(embedded.stderr).toMatch(/needs a PostgreSQL provider/);
  });

  it('recommends the smallest size within 5% of the best throughput whose p99 meets the target', () => {
    const bySize = [
      { poolMax: 2, perSecond: 800, p99Ms: 40 },
      { poolMax: 4, perSecond: 1460, p99Ms: 30 },
      { poolMax: 8, perSecond: 1500, p99Ms: 28 },
      { poolMax: 16, perSecond: 1490, p99Ms: 35 },
    ];
    expect(recommendPoolSize(bySize, 100).poolMax).toBe(4);
    // Its p99 over the target: the next size that meets both.
    expect(recommendPoolSize(bySize, 29).poolMax).toBe(8);
    expect(recommendPoolSize(bySize, 10)).toMatchObject({ poolMax: null, reason: expect.stringMatching(/the server, not the pool/) });
  });

  it('publishes how long callers waited for a pooled connection', async () => {
    const provider = pgProvider(cluster.servers[0]!, { name: 'waits', pool: { max: 1, idleTimeoutMs: 10_000 } });
    try {
      const count = async () => {
        const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === 'agentmem_pool_wait_seconds');
        const values = (metric?.values ?? []) as { metricName?: string; labels: Record<string, string>; value: number }[];
        const of = (name: string) => values.find((v) => v.metricName === name && v.labels.provider === 'waits')?.value ?? 0;
        return { n: of('agentmem_pool_wait_seconds_count'), sum: of('agentmem_pool_wait_seconds_sum') };
      };
      // Four callers, one connection, 100 ms each: the last waits about 300 ms.
      await Promise.all(Array.from({ length: 4 }, () => provider.query('SELECT pg_sleep(0.1)')));
      const after = await count();
      expect(after.n).toBe(4);
      expect(after.sum).toBeGreaterThan(0.5);
    } finally {
      await provider.close();
    }
  });
});
