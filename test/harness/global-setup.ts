import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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
  const runDir = mkdtempSync(join(tmpdir(), 'agentmem-test-run-'));
  // The servers run as the postgres user: it must reach its data directories below this one.
  chmodSync(runDir, 0o755);
  process.env.TMPDIR = runDir;
  return () => {
    try {
      rmSync(runDir, { recursive: true, force: true });
    } catch (error) {
      process.stderr.write(`could not remove the test run's directory ${runDir}: ${(error as Error).message}\n`);
    }
  };
}
