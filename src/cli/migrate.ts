import { Command, InvalidArgumentError } from 'commander';
import { type MigrateAction, type MigratorOptions, migrateProviders, type ProviderMigrationResult } from '../schema/index.js';
import { withContext } from './context.js';
import { EXIT, out, table } from './output.js';

interface MigrateFlags {
  provider?: string;
  all?: boolean;
  json?: boolean;
  to?: number;
}

function parseVersion(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('must be a migration version number');
  return Number(value);
}

function addSelection(command: Command): Command {
  return command
    .option('--provider <name>', 'act on this provider only')
    .option('--all', 'act on every configured provider (the default)')
    .option('--json', 'print the result as JSON');
}

async function run(command: Command, flags: MigrateFlags, action: MigrateAction): Promise<number> {
  return withContext(command, async ({ runtime, providers }) => {
    const names = providers.select(flags);
    // Each migration as it starts and ends, on stderr (stdout keeps the result): a line a person reads, or JSON lines with --json.
    const onStep: MigratorOptions['onStep'] = ({ provider, phase, step }) => {
      const label = `${String(step.version).padStart(4, '0')}_${step.name}`;
      if (flags.json)
        process.stderr.write(
          `${JSON.stringify({ progress: { label: `${provider} ${label}`, phase, direction: step.direction, durationMs: step.durationMs } })}\n`,
        );
      else if (phase === 'start') out.note(`${provider}: ${step.direction === 'up' ? 'applying' : 'rolling back'} ${label} …`);
      else out.note(`${provider}: ${label} done in ${step.durationMs} ms`);
    };
    const results = await migrateProviders(providers, names, action, (provider) => runtime.migrator(provider, { onStep }));
    if (flags.json) out.json({ action: action.kind, ok: results.every((r) => r.ok), providers: results });
    else printResults(action, results);
    return results.every((r) => r.ok) ? EXIT.ok : EXIT.failure;
  });
}

function printResults(action: MigrateAction, results: ProviderMigrationResult[]): void {
  for (const result of results) {
    if (result.error) {
      out.line(`${result.provider}: FAILED (${result.error.code}) ${result.error.message}`);
      continue;
    }
    if (result.status) {
      const s = result.status;
      out.line(
        `${result.provider}: version ${s.current} of ${s.latest}${s.pending.length ? `, ${s.pending.length} pending` : ', up to date'}`,
      );
      const rows = [
        ...s.applied.map((a) => ({ version: a.version, name: a.name, state: a.state, applied_at: a.appliedAt, ms: a.durationMs })),
        ...s.pending.map((p) => ({ version: p.version, name: p.name, state: 'pending' })),
      ];
      if (rows.length) out.line(table(rows, ['version', 'name', 'state', 'applied_at', 'ms']).replace(/^/gm, '  '));
    } else if (result.run) {
      const verb = action.kind === 'up' ? 'applied' : 'rolled back';
      out.line(
        `${result.provider}: ${result.run.steps.length ? `${verb} ${result.run.steps.length} migration(s)` : 'nothing to do'}, now at version ${result.run.current}`,
      );
    }
  }
}

export function migrateCommand(): Command {
  const migrate = new Command('migrate').description('apply, roll back and inspect schema migrations on each provider');
  addSelection(
    migrate
      .command('up')
      .description('apply pending migrations (each in its own transaction; concurrent runs wait for each other)')
      .option('--to <version>', 'stop after this version', parseVersion),
  ).action(async (flags: MigrateFlags, command: Command) => {
    process.exitCode = await run(command, flags, { kind: 'up', ...(flags.to === undefined ? {} : { to: flags.to }) });
  });
  addSelection(
    migrate
      .command('down')
      .description('roll back the newest migration, or every migration above --to')
      .option('--to <version>', 'roll back to this version (0 = everything)', parseVersion),
  ).action(async (flags: MigrateFlags, command: Command) => {
    process.exitCode = await run(command, flags, { kind: 'down', ...(flags.to === undefined ? {} : { to: flags.to }) });
  });
  addSelection(migrate.command('status').description('show applied and pending migrations, and any edited ones')).action(
    async (flags: MigrateFlags, command: Command) => {
      process.exitCode = await run(command, flags, { kind: 'status' });
    },
  );
  return migrate;
}
