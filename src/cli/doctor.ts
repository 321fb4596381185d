import { Command } from 'commander';
import { DependencyMissingError } from '../errors/index.js';
import { type DoctorReport, doctorReport, type Part } from '../ops/doctor.js';
import { withContext } from './context.js';
import { EXIT, out, table } from './output.js';
import { durationOption } from './parsers.js';

const failed = (p: Part<unknown>) => (p.ok ? undefined : `unavailable: ${p.error.code}: ${p.error.message}`);

function printReport(report: DoctorReport): void {
  const { versions } = report;
  out.line(`agentmem doctor   ${report.generatedAt}`);
  out.line(`agentmem ${versions.agentmem}, Node ${versions.node}, ${versions.os}`);
  out.line(
    `packages: ${Object.entries(versions.packages)
      .map(([name, v]) => `${name} ${v}`)
      .join(', ')}`,
  );
  out.line('\nproviders:');
  if (report.status.ok) {
    const tls = report.tls.ok ? report.tls.value : {};
    out.line(
      table(
        report.status.value.providers.map((p) => ({
          provider: p.name,
          role: p.role,
          state: p.reachable ? 'up' : 'DOWN',
          server: p.serverVersion ?? '',
          schema: p.schemaVersion === undefined ? '' : `${p.schemaVersion}/${p.latestSchemaVersion}`,
          drift: p.drift ? String(p.drift.differences) : '',
          tls: tls[p.name] ? `${tls[p.name]?.status} ${tls[p.name]?.detail}` : '',
        })),
        ['provider', 'role', 'state', 'server', 'schema', 'drift', 'tls'],
      ),
    );
    const { embedder } = report.status.value;
    out.line(`config: ${report.status.value.configSources.join(', ')}; embedder ${embedder.model}`);
    if (embedder.missingPackages) out.line(`  ${new DependencyMissingError('the embedder', embedder.missingPackages).message}`);
  } else out.line(`  ${failed(report.status)}`);
  out.line('\nhealth and replication:');
  if (report.health.ok) {
    const h = report.health.value;
    out.line(`  ${h.state}${h.reasons.length ? `: ${h.reasons.join('; ')}` : ''}`);
    if (h.replication) out.line(`  replication lag: ${h.replication.maxLagSeconds} s, ${h.replication.maxLagRows} row(s) at most`);
  } else out.line(`  ${failed(report.health)}`);
  out.line('\nembedding backlog:');
  const backlog = report.embeddings.ok
    ? (report.embeddings.value as { waiting: number; failing: number; oldestSeconds: number | null })
    : undefined;
  out.line(
    backlog
      ? `  ${backlog.waiting} waiting${backlog.oldestSeconds === null ? '' : ` (oldest ${backlog.oldestSeconds} s)`}, ${backlog.failing} failing`
      : `  ${failed(report.embeddings)}`,
  );
  out.line('\nbackups:');
  const backups = report.backups.ok
    ? (report.backups.value as { location: string; backups: number; newestVerifiedAt: string | null; stale: boolean })
    : undefined;
  out.line(
    backups
      ? `  ${backups.backups} in ${backups.location}; newest verified ${backups.newestVerifiedAt ?? 'none'}${backups.stale ? ' (STALE)' : ''}`
      : `  ${failed(report.backups)}`,
  );
  if (report.status.ok && report.status.value.recentEvents.length) {
    out.line('\nrecent router events:');
    for (const { at, type, ...rest } of report.status.value.recentEvents.slice(-10))
      out.line(
        `  ${at}  ${type.padEnd(9)} ${Object.entries(rest)
          .map(([k, v]) => `${k}=${v}`)
          .join(' ')}`,
      );
  }
  out.line(`\nerrors (${report.errors.length}):`);
  for (const e of report.errors) out.line(`  ${e.at ? `${e.at}  ` : ''}${e.source}: ${e.message}`);
  out.line('\nThe full report, with the configuration (secrets redacted): agentmem doctor --json');
}

export function doctorCommand(): Command {
  return new Command('doctor')
    .description(
      'one diagnostic report for a bug report or an incident: versions, configuration (secrets redacted), providers and their TLS, migrations and drift, replication lag, embedding backlog, backups, recent router events, the last errors',
    )
    .option('--json', 'print the report as JSON (with the whole configuration, secrets redacted)')
    .addOption(durationOption('--timeout <duration>', 'bound on each health query', 5000))
    .addHelpText(
      'after',
      '\nNothing in it is a secret: it is meant to be pasted into a bug report.\nExit codes: 0 no error found, 1 the report lists errors.',
    )
    .action(async (flags: { json?: boolean; timeout: number }, command: Command) => {
      process.exitCode = await withContext(command, async ({ config, providers, runtime }) => {
        const report = await doctorReport(config, providers, runtime, { timeoutMs: flags.timeout });
        if (flags.json) out.json(report);
        else printReport(report);
        return report.errors.length ? EXIT.failure : EXIT.ok;
      });
    });
}
