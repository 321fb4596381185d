import { Command } from 'commander';
import { UsageError } from '../errors/index.js';
import type { HoldSubject } from '../memory/index.js';
import { policiesFor, runRetention } from '../ops/retention-runs.js';
import { withContext } from './context.js';
import { out, table } from './output.js';
import { stepProgress } from './progress.js';

/** The tenant a command acts for: --tenant, else the config's. */
const tenantOf = (command: Command, fallback: string): string => (command.optsWithGlobals() as { tenant?: string }).tenant ?? fallback;

function subjectOf(flags: { user?: string; session?: string }): HoldSubject {
  if (flags.user && flags.session) throw new UsageError('give --user or --session, not both');
  return flags.user ? { userId: flags.user } : flags.session ? { sessionId: flags.session } : { tenant: true };
}

export function retentionCommand(): Command {
  const retention = new Command('retention').description(
    'expire memories by policy (config retention: a TTL and soft/hard mode per memory type, per tenant), and legal holds',
  );
  retention
    .command('run')
    .description('expire what the policies say is past its time, for every tenant (or --tenant); tombstones replicate to every provider')
    .option('--dry-run', 'count what would expire, change nothing')
    .option('--json', 'print the report as JSON')
    .action(async (flags: { dryRun?: boolean; json?: boolean }, command: Command) => {
      await withContext(command, async ({ config, providers, runtime }) => {
        const tenant = (command.optsWithGlobals() as { tenant?: string }).tenant;
        const memory = await runtime.memory({ actor: 'retention', route: false });
        const steps = stepProgress(flags);
        const report = await runRetention(config, providers, memory, {
          dryRun: Boolean(flags.dryRun),
          ...(tenant ? { tenant } : {}),
          // Progress on stderr (JSON lines with --json); stdout keeps the report.
          onProgress: (label: string, done: number, total: number) => steps(done, total, label),
        });
        if (flags.json) return out.json(report);
        const rows = report.tenants.flatMap((t) =>
          t.types.map((c) => ({
            tenant: t.tenant,
            type: c.type,
            ttl: c.ttlDays === null ? 'expiresAt' : `${c.ttlDays}d`,
            mode: c.mode,
            [report.dryRun ? 'would_expire' : 'expired']: c.expired,
            held: c.held,
          })),
        );
        if (rows.length) out.line(table(rows, ['tenant', 'type', 'ttl', 'mode', report.dryRun ? 'would_expire' : 'expired', 'held']));
        out.line(
          `${report.dryRun ? 'dry run: would expire' : 'expired'} ${report.totals.expired} memor${report.totals.expired === 1 ? 'y' : 'ies'}` +
            `${report.totals.held ? `; ${report.totals.held} kept under a legal hold` : ''} (${report.durationMs} ms)`,
        );
        for (const t of report.tenants)
          if (t.checkpoints)
            out.line(
              `${t.tenant}: ${report.dryRun ? 'would remove' : 'removed'} ${t.checkpoints.checkpoints} LangGraph checkpoint(s), ` +
                `${t.checkpoints.writes} write(s) and ${t.checkpoints.blobs} channel value(s) (retention.checkpoints)`,
            );
        for (const [provider, n] of Object.entries(report.historyRemoved))
          out.line(
            n === null
              ? `${provider}: unreachable; its history of hard-expired memories ages out with history.retentionDays`
              : `${provider}: removed ${n} history row(s) of hard-expired memories`,
          );
      });
    });
  retention
    .command('policy')
    .description("the policies in force for the tenant (the defaults with the tenant's own entries in their place)")
    .option('--json', 'print as JSON')
    .action(async (flags: { json?: boolean }, command: Command) => {
      await withContext(command, async ({ config }) => {
        const tenant = tenantOf(command, config.tenant);
        const policies = policiesFor(config, tenant);
        if (flags.json) return out.json({ tenant, policies });
        const rows = Object.entries(policies).map(([type, p]) => ({ type, ttl: `${p?.ttlDays}d`, mode: p?.mode }));
        out.line(rows.length ? table(rows, ['type', 'ttl', 'mode']) : `no retention policy for tenant ${tenant}: memories are kept`);
      });
    });
  const subjectOptions = (c: Command) =>
    c
      .option('--user <id>', 'one user of the tenant')
      .option('--session <id>', 'one session of the tenant')
      .option('--json', 'print as JSON');
  subjectOptions(
    retention
      .command('hold')
      .description('place a legal hold on the tenant (--tenant), a user or a session: retention and erasure are suspended for it')
      .option('--reason <text>', 'why (kept with the hold)'),
  ).action(async (flags: { user?: string; session?: string; reason?: string; json?: boolean }, command: Command) => {
    await withContext(command, async ({ config, runtime }) => {
      const memory = await runtime.memory({ tenant: tenantOf(command, config.tenant), route: false });
      const hold = await memory.retention.hold(subjectOf(flags), flags.reason);
      if (flags.json) return out.json({ tenant: memory.tenant, ...hold });
      out.line(`legal hold on ${hold.key} in tenant ${memory.tenant}`);
    });
  });
  subjectOptions(retention.command('release').description('lift a legal hold')).action(
    async (flags: { user?: string; session?: string; json?: boolean }, command: Command) => {
      process.exitCode = await withContext(command, async ({ config, runtime }) => {
        const memory = await runtime.memory({ tenant: tenantOf(command, config.tenant), route: false });
        const released = await memory.retention.release(subjectOf(flags));
        if (flags.json) out.json({ tenant: memory.tenant, released });
        else out.line(released ? 'legal hold lifted' : 'there was no such legal hold');
        return released ? 0 : 1;
      });
    },
  );
  retention
    .command('holds')
    .description('the legal holds of the tenant')
    .option('--json', 'print as JSON')
    .action(async (flags: { json?: boolean }, command: Command) => {
      await withContext(command, async ({ config, runtime }) => {
        const memory = await runtime.memory({ tenant: tenantOf(command, config.tenant), route: false });
        const holds = await memory.retention.holds();
        if (flags.json) return out.json({ tenant: memory.tenant, holds });
        out.line(
          holds.length
            ? table(
                holds.map((h) => ({ ...h })),
                ['key', 'since', 'by', 'reason'],
              )
            : `no legal holds in tenant ${memory.tenant}`,
        );
      });
    });
  return retention;
}
