import { redact, redactDeep } from '../config/index.js';
import { AgentmemError } from '../errors/index.js';

/** Everything the CLI prints goes through here, so nothing leaves unredacted. */
export const out = {
  line(text = ''): void {
    process.stdout.write(`${redact(text)}\n`);
  },
  json(value: unknown): void {
    process.stdout.write(`${JSON.stringify(redactDeep(value), null, 2)}\n`);
  },
  /**
   * The one unredacted output: a secret the user asked for and must store
   * (a rotated password's URL), printed once on stdout, never logged.
   */
  reveal(secret: string): void {
    process.stdout.write(secret);
  },
  /** Progress and notes: stderr, so stdout stays clean for --json and pipes. */
  note(text: string): void {
    process.stderr.write(`${redact(text)}\n`);
  },
  /**
   * A progress bar on stderr: redrawn in place on a terminal, one line per step
   * otherwise (so logs of a long run still show where it got to).
   */
  progress(done: number, total: number, label: string): void {
    const width = 30;
    const filled = total ? Math.round((done / total) * width) : width;
    out.status(`[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${label}`, done >= total);
  },
  /** A line of progress on stderr: redrawn in place on a terminal (ended by the last), one line each otherwise. */
  status(text: string, last: boolean): void {
    const line = redact(text);
    if (process.stderr.isTTY)
      process.stderr.write(`\r${line.padEnd(process.stderr.columns ? process.stderr.columns - 1 : 0)}${last ? '\n' : ''}`);
    else process.stderr.write(`${line}\n`);
  },
};

/**
 * The exit codes of every command: 0 ok; 1 failed (or, for a report, found
 * something wrong); 2 bad usage, invalid configuration or input, a package to
 * install; 3 no provider the command needs could be reached (for `health`:
 * every provider down).
 */
export const EXIT = { ok: 0, failure: 1, usage: 2, down: 3 } as const;

const USAGE_CODES = ['CONFIG_INVALID', 'USAGE', 'VALIDATION', 'PROVIDER_NOT_FOUND', 'DEPENDENCY_MISSING'];

/** Exit code for an error (see EXIT). */
export function exitCodeFor(error: unknown): number {
  if (!(error instanceof AgentmemError)) return EXIT.failure;
  if (USAGE_CODES.includes(error.code)) return EXIT.usage;
  if (error.code === 'PROVIDER_UNAVAILABLE') return EXIT.down;
  return EXIT.failure;
}

/**
 * One line (or one JSON document) per error, never a stack: an error from
 * outside the error model is reported as INTERNAL with its message only
 * (AGENTMEM_DEBUG=1 adds the stack, for a bug report).
 */
export function reportError(error: unknown, json: boolean): void {
  const body = error instanceof AgentmemError ? error.toJSON() : { error: 'INTERNAL', message: firstLine(error) };
  if (json) out.json(body);
  else out.note(`agentmem: ${error instanceof AgentmemError ? firstLine(error) : `internal error: ${firstLine(error)}`}`);
  if (process.env.AGENTMEM_DEBUG && error instanceof Error && error.stack) out.note(error.stack);
}

const firstLine = (error: unknown): string => String((error as Error)?.message ?? error).split('\n')[0] as string;

/** Render rows as an aligned text table. */
export function table(rows: Record<string, unknown>[], columns: string[]): string {
  const cells = rows.map((row) => columns.map((c) => String(row[c] ?? '')));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => (r[i] ?? '').length)));
  const line = (values: string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.toUpperCase())), ...cells.map(line)].join('\n');
}

/** Why a search hit matched, for a person: its rank in each leg that found it. */
export function matchedBy(hit: { textRank?: number; vectorRank?: number }): string {
  return [hit.textRank ? `text #${hit.textRank}` : '', hit.vectorRank ? `vector #${hit.vectorRank}` : ''].filter(Boolean).join(', ');
}
