import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runDirectory } from './child-env.js';

/**
 * Once per test run: build the CLI the tests run as a user would, and give the
 * run a temporary directory of its own. (System packages — PostgreSQL,
 * pgvector, PgBouncer, … — are `npm test`'s pretest step:
 * scripts/test-prerequisites.mjs.)
 *
 * Every data directory, config and backup a test makes goes under that
 * directory (TMPDIR, which os.tmpdir() and the CLI processes read, is set
 * before the workers start), and the run removes it at the end: a test that
 * leaves a file behind does not fill the disk run after run.
 */
export default function setup(): () => void {
  const root = join(import.meta.dirname, '..', '..');
  const build = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  if (build.status !== 0 || !existsSync(join(root, 'dist', 'cli', 'main.js'))) throw new Error('npm run build failed');
  const run = runDirectory('agentmem-test-run-');
  process.env.TMPDIR = run.path;
  return () => run.remove();
}
