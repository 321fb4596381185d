import { tmpdir } from 'node:os';

/**
 * The environment of a process a test starts: nothing of the developer's
 * shell but PATH and HOME, and the test run's TMPDIR, so the files it makes
 * stay in the run's directory and go with it.
 */
export function childEnv(extra: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string | undefined> = { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: tmpdir(), ...extra };
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
}
