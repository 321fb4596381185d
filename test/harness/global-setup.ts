import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { hasPgvector } from './postgres.js';

/** Once per test run: make sure the CLI is built and pgvector is installed where we can build it. */
export default function setup(): void {
  const root = join(import.meta.dirname, '..', '..');
  if (!existsSync(join(root, 'dist', 'cli', 'main.js'))) {
    const build = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
    if (build.status !== 0) throw new Error('npm run build failed');
  }
  if (!hasPgvector() && process.getuid?.() === 0) {
    const result = spawnSync('bash', [join(root, 'scripts', 'install-pgvector.sh')], { stdio: 'inherit' });
    if (result.status !== 0) process.stderr.write('pgvector could not be built; vector tests will report it\n');
  }
}
