import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The environment of a process a test starts: nothing of the developer's
 * shell but PATH and HOME, and the test run's TMPDIR, so the files it makes
 * stay in the run's directory and go with it.
 */
export function childEnv(extra: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string | undefined> = { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: tmpdir(), ...extra };
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

/**
 * A directory for everything one run (of the tests, of the benches) makes —
 * servers' data, configs, archives — to be its TMPDIR and removed at the end.
 * Readable by others: the servers run as the postgres user and must reach
 * their data directories below it.
 */
export function runDirectory(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(path, 0o755);
  return {
    path,
    remove() {
      try {
        rmSync(path, { recursive: true, force: true });
      } catch (error) {
        process.stderr.write(`could not remove ${path}: ${(error as Error).message}\n`);
      }
    },
  };
}
