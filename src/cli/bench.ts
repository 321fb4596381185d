import { Command, InvalidArgumentError } from 'commander';
import { benchPool, type PoolBenchReport } from '../ops/pool-bench.js';
import { withContext } from './context.js';
import { EXIT, out } from './output.js';
import { durationOption, positiveInt } from './parsers.js';

/** A comma-separated list of whole numbers from 1 to 1000 (`2,4,8`). */
function sizes(value: string): number[] {
  const list = value.split(',').map((v) => Number(v.trim()));
  if (!list.length || list.some((n) => !Number.isInteger(n) || n < 1 || n > 1000))
    throw new InvalidArgumentError('must be whole numbers from 1 to 1000, separated by commas (e.g. 2,4,8,16)');
  return list;
}

/** The cells as a table, then each pool size's throughput at the highest concurrency as a bar. */
function printReport(report: PoolBenchReport): void {
  out.line(`provider ${report.provider}; ${report.cellMs} ms per cell; p99 target ${report.p99TargetMs} ms`);
  out.line('');
  out.line('POOL  CALLERS   OPS/S   P50 MS   P99 MS  ERRORS');
  for (const c of report.cells)
    out.line(
      `${String(c.poolMax).padStart(4)}  ${String(c.concurrency).padStart(7)}  ${String(c.perSecond).padStart(6)}  ${c.p50Ms.toFixed(1).padStart(7)}  ${c.p99Ms.toFixed(1).padStart(7)}  ${String(c.errors).padStart(6)}`,
    );
  out.line('');
  const top = report.cells.at(-1)?.concurrency;
  out.line(`throughput at ${top} callers, by pool size:`);
  const best = Math.max(1, ...report.bySize.map((s) => s.perSecond));
  for (const s of report.bySize) {
    const bar = '█'.repeat(Math.round((s.perSecond / best) * 40));
    const mark = s.poolMax === report.recommendation.poolMax ? '  ← recommended' : '';
    out.line(`${String(s.poolMax).padStart(4)} │${bar.padEnd(40)} ${s.perSecond}/s, p99 ${s.p99Ms} ms${mark}`);
  }
  out.line('');
  out.line(
    report.recommendation.poolMax === null
      ? `no recommendation: ${report.recommendation.reason}`
      : `recommended pool.max: ${report.recommendation.poolMax} (${report.recommendation.reason})`,
  );
}

export function benchCommand(): Command {
  const bench = new Command('bench').description('measure the deployment as configured');
  bench
    .command('pool')
    .description(
      'find the pool size a provider wants: a mixed workload (appends, remembers, searches) at increasing concurrency against each pool size, in a scratch schema created for the run and dropped after it; prints throughput and p99 per (pool size, callers) and recommends pool.max (the smallest within 5% of the best throughput with p99 under the target)',
    )
    .option('--provider <name>', 'the provider to measure (default: the first PostgreSQL provider)')
    .addOption(durationOption('--duration <duration>', 'the whole run, shared by every (pool size, callers) cell', 30_000, 1000))
    .option('--sizes <list>', 'pool sizes to try', sizes, [2, 4, 8, 16, 32])
    .option('--concurrency <list>', 'concurrent callers at each size', sizes, [1, 4, 16, 64])
    .option('--p99 <ms>', 'the p99 a recommended size must stay under (default: monitor.slowQueryMs)', positiveInt)
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  agentmem bench pool\n  agentmem bench pool --provider neon --duration 2m --sizes 4,8,16 --concurrency 8,32',
    )
    .action(
      async (
        flags: { provider?: string; duration: number; sizes: number[]; concurrency: number[]; p99?: number; json?: boolean },
        command: Command,
      ) => {
        process.exitCode = await withContext(command, async ({ config }) => {
          const report = await benchPool(config, {
            ...(flags.provider ? { provider: flags.provider } : {}),
            durationMs: flags.duration,
            sizes: flags.sizes,
            concurrency: flags.concurrency,
            ...(flags.p99 ? { p99TargetMs: flags.p99 } : {}),
            onCell: (done, total, cell) =>
              out.progress(done, total, `pool ${cell.poolMax}, ${cell.concurrency} callers: ${cell.perSecond}/s`),
          });
          if (flags.json) out.json(report);
          else printReport(report);
          return report.cells.some((c) => c.errors) ? EXIT.failure : EXIT.ok;
        });
      },
    );
  return bench;
}
