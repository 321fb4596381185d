import { type DestinationStream, type Logger, pino } from 'pino';
import { redact, redactDeep } from '../config/redact.js';

export type { Logger };

/**
 * Structured JSON logs on stderr (stdout belongs to command output and --json).
 * Every message and field passes through the secret redactor.
 */
export function createLogger(level = 'warn', destination: DestinationStream = pino.destination({ fd: 2, sync: true })): Logger {
  return pino(
    {
      level,
      base: { app: 'agentmem' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: ['password', '*.password', 'url', '*.url', 'connectionString', '*.connectionString'], censor: '***' },
      formatters: { log: (object) => redactDeep(object) },
      hooks: {
        logMethod(args, method) {
          method.apply(this, args.map((arg) => (typeof arg === 'string' ? redact(arg) : arg)) as Parameters<typeof method>);
        },
      },
    },
    destination,
  );
}

const LEVEL_NAMES: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warning', 50: 'error', 60: 'fatal' };

/**
 * A destination that prints each (already redacted) JSON log record as one
 * line a person reads: `agentmem: warning: message (key=value, …)`. For
 * commands a person runs; long-running services keep JSON lines.
 */
export function humanDestination(write: (line: string) => void = (line) => process.stderr.write(line)): DestinationStream {
  return {
    write(record: string) {
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(record) as Record<string, unknown>;
      } catch {
        write(record);
        return;
      }
      const { level, time: _time, app: _app, msg, err, ...fields } = parsed;
      const details = Object.entries(fields)
        .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
        .join(', ');
      const reason = typeof err === 'string' ? `: ${err}` : '';
      write(`agentmem: ${LEVEL_NAMES[Number(level)] ?? 'log'}: ${msg}${reason}${details ? ` (${details})` : ''}\n`);
    },
  };
}

let shared: Logger | undefined;
/** The process-wide logger; the CLI sets its level from config. */
export function logger(): Logger {
  shared ??= createLogger(process.env.AGENTMEM_LOG_LEVEL ?? 'warn');
  return shared;
}
export function setLogLevel(level: string): void {
  logger().level = level;
}

/** Log as human-readable lines from now on (the CLI, for every command but the long-running services). */
export function useHumanLogs(): void {
  shared = createLogger(shared?.level ?? process.env.AGENTMEM_LOG_LEVEL ?? 'warn', humanDestination());
}
