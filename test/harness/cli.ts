import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { childEnv } from './child-env.js';

export const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'agentmem.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run the built CLI as a user would, in its own process (async: never blocks this event loop). */
export async function runCli(
  args: string[],
  options: { cwd?: string; env?: Record<string, string | undefined>; timeoutMs?: number } = {},
): Promise<CliResult> {
  const running = startCli(args, options);
  const timer = setTimeout(() => running.kill('SIGKILL'), options.timeoutMs ?? 90_000);
  try {
    return await running.exited;
  } finally {
    clearTimeout(timer);
  }
}

export interface RunningCli {
  /** Resolves with the first stderr line matching `pattern` (rejects after timeoutMs). */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves once `done(stdout)` holds (rejects after timeoutMs): wait for output, never for a fixed time. */
  waitForStdout(done: (stdout: string) => boolean, timeoutMs?: number): Promise<void>;
  /** Send a signal and wait for the process to exit. */
  stop(signal?: NodeJS.Signals): Promise<CliResult>;
  kill(signal: NodeJS.Signals): void;
  /** Resolves when the process has exited (rejects when it could not be started). */
  readonly exited: Promise<CliResult>;
  readonly stderr: string;
}

/** Start a long-running command (monitor, serve); the test must stop() it. */
export function startCli(args: string[], options: { cwd?: string; env?: Record<string, string | undefined> } = {}): RunningCli {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd ?? ROOT, env: childEnv(options.env) });
  let stdout = '';
  let stderr = '';
  // Each waiter looks at the output so far and says whether it has what it waits for; all look again on every chunk.
  const waiters = new Set<() => boolean>();
  const check = () => {
    for (const found of [...waiters]) if (found()) waiters.delete(found);
  };
  /** Resolves with what `find` finds in the output (rejects after timeoutMs, with `failure`'s message). */
  const until = <T>(find: () => T | undefined, timeoutMs: number, failure: () => string) =>
    new Promise<T>((resolve, reject) => {
      const found = () => {
        const value = find();
        if (value === undefined) return false;
        clearTimeout(timer);
        resolve(value);
        return true;
      };
      const timer = setTimeout(() => {
        waiters.delete(found);
        reject(new Error(failure()));
      }, timeoutMs);
      if (!found()) waiters.add(found);
    });
  child.stdout.on('data', (d) => {
    stdout += d;
    check();
  });
  child.stderr.on('data', (d) => {
    stderr += d;
    check();
  });
  const exited = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  const kill = (signal: NodeJS.Signals) => {
    if (child.exitCode === null) child.kill(signal);
  };
  return {
    exited,
    kill,
    get stderr() {
      return stderr;
    },
    waitForLog(pattern, timeoutMs = 30_000) {
      return until(
        () => stderr.split('\n').find((line) => pattern.test(line)),
        timeoutMs,
        () => `no log line matching ${pattern} within ${timeoutMs} ms; stderr:\n${stderr}`,
      );
    },
    async waitForStdout(done, timeoutMs = 30_000) {
      await until(
        () => (done(stdout) ? true : undefined),
        timeoutMs,
        () => `stdout did not reach the expected state within ${timeoutMs} ms:\n${stdout}`,
      );
    },
    async stop(signal = 'SIGTERM') {
      kill(signal);
      const timer = setTimeout(() => kill('SIGKILL'), 20_000);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
  };
}

/** The progress events a command wrote on stderr with --json (JSON Lines), in order: label, done of total. */
export function progressEvents(stderr: string): { label: string; done: number; total?: number }[] {
  return stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { progress?: { label: string; done: number; total?: number } })
    .flatMap((event) => (event.progress ? [event.progress] : []));
}
