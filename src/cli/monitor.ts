import { Command, Option } from 'commander';
import { logger, setLogLevel } from '../observability/logger.js';
import { type MetricsServer, startMetricsServer } from '../ops/metrics-server.js';
import { Monitor } from '../ops/monitor.js';
import { runUntilSignal, withContext } from './context.js';
import { EXIT } from './output.js';
import { durationOption, port } from './parsers.js';

interface LoopFlags {
  interval?: number;
  metricsPort?: number;
  host: string;
  logLevel: string;
}

/** Run a Monitor until SIGINT/SIGTERM, optionally with a metrics endpoint; exit 0 after a clean stop. */
export async function runLoop(
  command: Command,
  flags: LoopFlags,
  options: { history: boolean; alerts: boolean; backups: boolean; retention?: boolean; workers?: boolean; name: string },
): Promise<number> {
  return withContext(
    command,
    async ({ config, providers, runtime }) => {
      setLogLevel(flags.logLevel);
      // The background workers the config asks for (the embedding worker), stopped when the runtime closes.
      if (options.workers) runtime.startWorkers();
      const intervalMs = flags.interval ?? config.monitor.intervalMs;
      const log = logger().child({ component: options.name });
      const monitor = new Monitor(config, providers, {
        intervalMs,
        history: options.history,
        alerts: options.alerts,
        backups: options.backups,
        retention: Boolean(options.retention),
        onCheck: (report) =>
          log[report.state === 'healthy' ? 'info' : 'warn'](
            {
              state: report.state,
              checkedAt: report.checkedAt,
              up: report.providers.filter((p) => p.up).map((p) => p.name),
              down: report.providers.filter((p) => !p.up).map((p) => p.name),
              maxLagSeconds: report.replication?.maxLagSeconds ?? null,
              reasons: report.reasons,
              durationMs: report.durationMs,
            },
            'health check',
          ),
      });
      let server: MetricsServer | undefined;
      try {
        if (flags.metricsPort !== undefined) {
          server = await startMetricsServer({ port: flags.metricsPort, host: flags.host, health: () => monitor.lastReport });
          log.info({ metrics: `${server.url}/metrics` }, 'metrics endpoint listening');
        }
        log.info(
          {
            intervalMs,
            providers: providers.names,
            history: options.history,
            alerts: options.alerts,
            ...(options.backups ? { backupSchedule: config.backup.schedule, drillSchedule: config.backup.drill.schedule } : {}),
          },
          `${options.name} started`,
        );
        await runUntilSignal(monitor, (received) => log.info({ signal: received }, `${options.name} stopping`));
      } finally {
        await server?.close();
      }
      log.info(`${options.name} stopped`);
      return EXIT.ok;
    },
    { handleSignals: false },
  );
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function monitorCommand(): Command {
  return new Command('monitor')
    .description('long-running health loop: checks every interval, keeps SLA history, sends alerts, logs JSON (stops cleanly on SIGTERM)')
    .addOption(durationOption('--interval <duration>', 'time between checks, e.g. 30s or 5m (default: monitor.intervalMs, 60s)'))
    .option('--metrics-port <port>', 'also expose Prometheus metrics on this port (GET /metrics, /healthz)', port)
    .option('--host <address>', 'address for the metrics endpoint', '127.0.0.1')
    .option('--no-alerts', 'do not send alerts')
    .option(
      '--no-embeddings',
      'do not run the embedding worker (recall.embed.mode: worker embeds memories and messages for recall by meaning)',
    )
    .option('--no-backups', 'do not run scheduled backups and restore drills (config backup.schedule, backup.drill.schedule)')
    .option(
      '--no-retention',
      'do not expire memories by the retention policies (config retention; runs at start and every retention.intervalMs)',
    )
    .addOption(new Option('--log-level <level>', 'log level (JSON lines on stderr)').choices(LOG_LEVELS).default('info'))
    .action(async (flags: LoopFlags & { alerts: boolean; backups: boolean; retention: boolean; embeddings: boolean }, command: Command) => {
      process.exitCode = await runLoop(command, flags, {
        history: true,
        alerts: flags.alerts,
        backups: flags.backups,
        retention: flags.retention,
        workers: flags.embeddings,
        name: 'monitor',
      });
    });
}
