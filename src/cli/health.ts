import { Command } from 'commander';
import { HEALTH_EXIT, type HealthReport } from '../ops/health.js';
import { Monitor } from '../ops/monitor.js';
import { runUntilSignal, withContext } from './context.js';
import { out, table } from './output.js';
import { durationOption } from './parsers.js';

interface HealthFlags {
  json?: boolean;
  watch?: number;
  alert?: boolean;
  timeout: number;
}

export function healthCommand(): Command {
  return new Command('health')
    .description('check every provider directly: up/down, probe latency, a test query, row counts, replication lag, breaker state')
    .option('--json', 'one JSON document per check on stdout, nothing else (JSON Lines with --watch)')
    .addOption(
      durationOption('--watch <duration>', 'check again every DURATION until interrupted (e.g. 30s, 5m; a bare number is seconds)'),
    )
    .option('--alert', 'send alerts for new and cleared conditions through the configured channels')
    .addOption(durationOption('--timeout <duration>', 'bound on each query of a check', 5000))
    .addHelpText(
      'after',
      '\nExit codes: 0 every provider healthy, 1 degraded (some down, drifted or lagging), 3 all providers down (2: bad usage or configuration).\nTimes are UTC (ISO 8601).',
    )
    .action(async (flags: HealthFlags, command: Command) => {
      process.exitCode = await withContext(
        command,
        async ({ config, providers }) => {
          // The monitor's check (health, metrics, alerts), without its history: the same work, printed.
          const monitor = new Monitor(config, providers, {
            intervalMs: flags.watch ?? 0,
            timeoutMs: flags.timeout,
            history: false,
            alerts: flags.alert === true,
            onCheck: (report) => {
              // Watching on a terminal: each check redraws the screen in place (clear, cursor home), not one report under another.
              if (flags.watch && !flags.json && process.stdout.isTTY) process.stdout.write('\x1b[H\x1b[2J');
              if (!flags.json) printReport(report);
              else if (flags.watch) process.stdout.write(`${JSON.stringify(report)}\n`);
              else out.json(report);
            },
          });
          if (!flags.watch) return HEALTH_EXIT[(await monitor.checkOnce()).state];
          await runUntilSignal(monitor);
          const last = monitor.lastReport;
          return last ? HEALTH_EXIT[last.state] : 1;
        },
        { handleSignals: !flags.watch },
      );
    });
}

function printReport(report: HealthReport): void {
  out.line(`agentmem health: ${report.state.toUpperCase()}   ${report.checkedAt}   (${report.durationMs} ms)`);
  out.line(
    table(
      report.providers.map((p) => ({
        provider: p.name,
        role: p.role,
        state: p.up ? 'up' : 'DOWN',
        probe: p.probeMs === null ? '' : `${p.probeMs} ms`,
        test_query: p.testQuery.ok ? `ok ${p.testQuery.ms} ms` : p.up ? 'FAILED' : '',
        sessions: p.counts?.sessions ?? '',
        memories: p.counts?.memories ?? '',
        atoms: p.counts?.knowledge_atoms ?? '',
        settings: p.counts?.settings ?? '',
        schema: p.schemaVersion ?? '',
        drift: p.drift ? (p.drift.differences ? `${p.drift.blocking ? 'BLOCKING ' : ''}${p.drift.differences}` : 'none') : '',
        breaker: p.breaker,
        pool: p.pool ? `${p.pool.total - p.pool.idle}/${p.pool.total} used, ${p.pool.waiting} waiting` : '',
      })),
      [
        'provider',
        'role',
        'state',
        'probe',
        'test_query',
        'sessions',
        'memories',
        'atoms',
        'settings',
        'schema',
        'drift',
        'breaker',
        'pool',
      ],
    ),
  );
  if (report.replication) {
    out.line(
      `replication: max lag ${report.replication.maxLagSeconds} s, ${report.replication.maxLagRows} row(s) waiting on the slowest link`,
    );
  }
  for (const reason of report.reasons) out.line(`  - ${reason}`);
}
