import { Command } from 'commander';
import { type DriftReport, diffSchema, type FixResult, fixSchema, schemaOptions } from '../schema/index.js';
import { withContext } from './context.js';
import { EXIT, out, table } from './output.js';

interface Flags {
  provider?: string;
  all?: boolean;
  json?: boolean;
  dryRun?: boolean;
  yes?: boolean;
  allowDestructive?: boolean;
}

function printReport(report: DriftReport): void {
  if (!report.items.length) {
    out.line(`${report.provider}: no drift (schema ${report.schema}, version ${report.schemaVersion})`);
    return;
  }
  out.line(
    `${report.provider}: ${report.items.length} difference(s)${report.blocking ? ' — BLOCKING: writes must not go here until fixed' : ''}`,
  );
  out.line(
    table(
      report.items.map((i) => ({
        severity: i.severity,
        kind: i.kind,
        object: i.object,
        change: i.change,
        fix: i.fix.join('; ') || '(agentmem migrate up)',
      })),
      ['severity', 'kind', 'object', 'change', 'fix'],
    ).replace(/^/gm, '  '),
  );
}

export function schemaCommand(): Command {
  const schema = new Command('schema').description('compare each provider with the schema the code expects, and repair drift');
  schema
    .command('diff')
    .description('list every difference per provider with its severity and fix SQL (exit 1 when drift exists)')
    .option('--provider <name>', 'this provider only')
    .option('--all', 'every configured provider (the default)')
    .option('--json', 'print the result as JSON')
    .action(async (flags: Flags, command: Command) => {
      process.exitCode = await withContext(command, async ({ config, providers }) => {
        const reports: (DriftReport | { provider: string; error: string })[] = [];
        for (const name of providers.select(flags)) {
          try {
            reports.push(await diffSchema(await providers.get(name), schemaOptions(config)));
          } catch (error) {
            reports.push({ provider: name, error: (error as Error).message });
          }
        }
        if (flags.json) out.json({ providers: reports, drift: reports.some((r) => 'error' in r || r.items.length > 0) });
        else for (const r of reports) 'error' in r ? out.line(`${r.provider}: FAILED ${r.error}`) : printReport(r);
        return reports.every((r) => !('error' in r) && r.items.length === 0) ? EXIT.ok : EXIT.failure;
      });
    });
  schema
    .command('fix')
    .description('apply the fix SQL to exactly the named provider(s), directly and in one transaction each, then diff again')
    .option('--provider <name>', 'this provider only')
    .option('--all', 'every configured provider')
    .option('--dry-run', 'print the SQL and change nothing')
    .option('--yes', 'apply without asking (required unless --dry-run)')
    .option('--allow-destructive', 'also apply fixes that can lose data (dropping a column that holds values)')
    .option('--json', 'print the result as JSON')
    .action(async (flags: Flags, command: Command) => {
      if (!flags.provider && !flags.all) {
        out.note('agentmem: name the provider to fix (--provider NAME) or pass --all');
        process.exitCode = EXIT.usage;
        return;
      }
      if (!flags.dryRun && !flags.yes) {
        out.note('agentmem: schema fix changes the database; pass --yes to apply, or --dry-run to see the SQL');
        process.exitCode = EXIT.usage;
        return;
      }
      process.exitCode = await withContext(command, async ({ config, providers }) => {
        const results: FixResult[] = [];
        for (const name of providers.select(flags)) {
          results.push(
            await fixSchema(await providers.get(name), {
              ...schemaOptions(config),
              dryRun: Boolean(flags.dryRun),
              allowDestructive: Boolean(flags.allowDestructive),
            }),
          );
        }
        if (flags.json) out.json({ providers: results });
        for (const r of results) {
          if (flags.json) break;
          out.line(`${r.provider}: ${r.dryRun ? 'would apply' : 'applied'} ${r.applied.length} statement(s)`);
          for (const sql of r.applied) out.line(`  ${sql};`);
          for (const item of r.refused) out.line(`  REFUSED (destructive; pass --allow-destructive): ${item.fix.join('; ')}`);
          if (r.after)
            out.line(r.after.items.length ? `  still ${r.after.items.length} difference(s) after the fix` : '  verified: no drift left');
        }
        const clean = results.every((r) => (r.dryRun ? true : (r.after?.items.length ?? 0) === 0) && r.refused.length === 0);
        return clean ? EXIT.ok : EXIT.failure;
      });
    });
  return schema;
}
