import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { hasPgvector } from './postgres.js';

/** Once per test run: build the CLI the tests run as a user would, and install pgvector where we can build it. */
export default function setup(): void {
  const root = join(import.meta.dirname, '..', '..');
  const build = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  if (build.status !== 0 || !existsSync(join(root, 'dist', 'cli', 'main.js'))) throw new Error('npm run build failed');
  if (!hasPgvector() && process.getuid?.() === 0) {
    const result = spawnSync('bash', [join(root, 'scripts', 'install-pgvector.sh')], { stdio: 'inherit' });
    if (result.status !== 0) process.stderr.write('pgvector could not be built; vector tests will report it\n');
  }
}
