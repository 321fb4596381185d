import { Command } from 'commander';
import { UsageError } from '../errors/index.js';
import { HealthHistory } from '../ops/health-history.js';
import { type Availability, computeSla } from '../ops/sla.js';
import { withContext } from './context.js';
import { EXIT, out, table } from './output.js';
import { boundedInt } from './parsers.js';

const percent = (a: Availability) => (a.availability === null ? 'no data' : `${(a.availability * 100).toFixed(3)}%`);
const hours = (seconds: number) => `${(seconds / 3600).toFixed(2)} h`;

export function slaCommand(): Command {
  return new Command('sla')
    .description(
      "availability per provider and for the whole system (writes possible), error budget left and burn rate, from the monitor's health history",
    )
    .option('--days <n>', 'window in days (at most 3650)', boundedInt(3650), 30)
    .option('--json', 'print the result as JSON')
    .addHelpText('after', '\nExit codes: 0 within the objective (monitor.slo), 1 error budget spent or no health history in the window.')
    .action(async (flags: { days: number; json?: boolean }, command: Command) => {
      process.exitCode = await withContext(command, async ({ config }) => {
        const file = config.monitor.history.file;
        if (!file) throw new UsageError('health history is off (monitor.history.file is false): there is nothing to compute an SLA from');
        const since = new Date(Date.now() - flags.days * 86_400_000);
        const report = computeSla(new HealthHistory(file, config.monitor.history.retentionDays).read(since), {
          days: flags.days,
          slo: config.monitor.slo,
        });
        if (flags.json) out.json({ historyFile: file, ...report });
        else {
          out.line(`SLA over ${flags.days} day(s), ${report.from} → ${report.to} (UTC), objective ${(report.slo * 100).toFixed(3)}%`);
          if (!report.samples) out.line(`no health history in this window (${file}): run \`agentmem monitor\` to record it`);
          out.line(
            table(
              [
                { scope: 'system (writes possible)', ...row(report.system) },
                ...Object.entries(report.providers).map(([name, a]) => ({ scope: name, ...row(a) })),
              ],
              ['scope', 'availability', 'observed', 'down'],
            ),
          );
          out.line(
            `error budget: ${hours(report.system.budgetSeconds)} for the window, ${hours(report.system.budgetLeftSeconds)} left (${(report.system.budgetLeftFraction * 100).toFixed(1)}%); burn rate (last hour): ${report.system.burnRate1h ?? 'no data'}`,
          );
        }
        // No history: nothing says the objective holds.
        return !report.samples || report.system.budgetLeftSeconds < 0 ? EXIT.failure : EXIT.ok;
      });
    });
}

function row(a: Availability) {
  return { availability: percent(a), observed: hours(a.observedSeconds), down: hours(a.downSeconds) };
}
