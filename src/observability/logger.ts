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

let shared: Logger | undefined;
/** The process-wide logger; the CLI sets its level from config. */
export function logger(): Logger {
  shared ??= createLogger(process.env.AGENTMEM_LOG_LEVEL ?? 'warn');
  return shared;
}
export function setLogLevel(level: string): void {
  logger().level = level;
}
