import { Command } from 'commander';
import { hint } from '../core/commands.js';
import { purgeTombstones, repairAndVerify, runSync, syncStatus, verifyProviders } from '../replication/index.js';
import { type CommandContext, withContext } from './context.js';
import { EXIT, out, table } from './output.js';
import { durationOption, MAX_AGE_MS } from './parsers.js';
import { stepProgress } from './progress.js';

const allProviders = ({ runtime }: CommandContext) => runtime.allProviders();

export function syncCommand(): Command {
  const sync = new Command('sync').description('replication between providers: status, run, verify, repair, purge');
  sync
    .command('status')
    .description('lag per link (source → target, per table) in rows and seconds')
    .option('--json', 'print the result as JSON')
    .action(async (flags: { json?: boolean }, command: Command) => {
      await withContext(command, async (context) => {
        const status = await syncStatus(await allProviders(context), context.config.schema);
        if (flags.json) return out.json({ links: status });
        out.line(
          table(
            status.map((s) => ({
              link: `${s.source} → ${s.target}`,
              table: s.table,
              lag_rows: s.lagRows,
              lag_s: s.lagSeconds,
              applied: s.appliedTotal,
              last: s.lastAppliedAt ?? '',
            })),
            ['link', 'table', 'lag_rows', 'lag_s', 'applied', 'last'],
          ),
        );
        for (const changed of new Map(status.filter((s) => s.sourceChanged).map((s) => [`${s.source} → ${s.target}`, s.sourceChanged]))) {
          out.line(`${changed[0]}: the source is another server now (${changed[1]}); \`agentmem sync run\` re-captures everything from it`);
        }
      });
    });
  sync
    .command('run')
    .description('replicate every link once')
    .option('--json', 'print the result as JSON')
    .action(async (flags: { json?: boolean }, command: Command) => {
      await withContext(command, async (context) => {
        const results = await runSync(await allProviders(context), context.runtime.replicator, (r) => {
          if (!flags.json && r.applied) out.note(`${r.source} → ${r.target} ${r.table}: ${r.applied} row(s)`);
        });
        if (flags.json) out.json({ links: results });
        else out.line(`applied ${results.reduce((n, r) => n + r.applied, 0)} row(s) over ${results.length} link-tables`);
      });
    });
  sync
    .command('verify')
    .description('compare per-table, per-bucket checksums between providers; exit 1 when any bucket differs')
    .option('--json', 'print the result as JSON')
    .action(async (flags: { json?: boolean }, command: Command) => {
      process.exitCode = await withContext(command, async (context) => {
        const report = await verifyProviders(await allProviders(context), context.config.schema, stepProgress(flags));
        if (flags.json) out.json(report);
        else {
          for (const t of report.tables)
            out.line(`${t.table.padEnd(16)} ${t.differing ? `${t.differing} of ${t.buckets} buckets differ` : 'equal'}`);
          for (const d of report.differences)
            out.line(
              `  ${d.table} bucket ${d.bucket}: ${Object.entries(d.providers)
                .map(([p, v]) => `${p}=${v ?? 'empty'}`)
                .join('  ')}`,
            );
          out.line(report.equal ? 'all providers equal' : `providers differ: run ${hint('syncRepair')}`);
        }
        return report.equal ? EXIT.ok : EXIT.failure;
      });
    });
  sync
    .command('repair')
    .description('make differing buckets equal (last writer wins), then verify again')
    .option('--json', 'print the result as JSON')
    .action(async (flags: { json?: boolean }, command: Command) => {
      process.exitCode = await withContext(command, async (context) => {
        const report = await repairAndVerify(
          await allProviders(context),
          context.config.schema,
          context.runtime.replicator,
          stepProgress(flags),
        );
        if (flags.json) out.json(report);
        else
          out.line(
            `${report.differingBefore} differing bucket(s); applied ${report.applied} row(s); ${report.after.equal ? 'all providers equal now' : 'still different'}`,
          );
        return report.after.equal ? EXIT.ok : EXIT.failure;
      });
    });
  sync
    .command('purge')
    .description('delete tombstones for good, only those every provider already holds (runs a sync first)')
    .addOption(
      durationOption(
        '--older-than <duration>',
        'only tombstones deleted longer ago than this (e.g. 7d, 90d, 12h; 0s: all)',
        7 * 86_400_000,
        0,
        MAX_AGE_MS,
      ),
    )
    .option('--json', 'print the result as JSON')
    .action(async (flags: { olderThan: number; json?: boolean }, command: Command) => {
      await withContext(command, async (context) => {
        const providers = await allProviders(context);
        await runSync(providers, context.runtime.replicator);
        const results = await purgeTombstones(providers, context.config.schema, { olderThanMs: flags.olderThan });
        if (flags.json) return out.json({ tables: results });
        out.line(table(results as unknown as Record<string, unknown>[], ['table', 'candidates', 'purged', 'kept']));
      });
    });
  return sync;
}
