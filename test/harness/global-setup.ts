import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Once per test run: build the CLI the tests run as a user would. (System
 * packages — PostgreSQL, pgvector, PgBouncer, … — are `npm test`'s pretest step:
 * scripts/test-prerequisites.mjs.)
 */
export default function setup(): void {
  const root = join(import.meta.dirname, '..', '..');
  const build = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  if (build.status !== 0 || !existsSync(join(root, 'dist', 'cli', 'main.js'))) throw new Error('npm run build failed');
}
