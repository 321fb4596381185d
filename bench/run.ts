/** Runs every bench/*.bench.ts (or those named on the command line) one after another. */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { runDirectory } from '../test/harness/child-env.js';

const dir = import.meta.dirname;
const wanted = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => wanted.length === 0 || wanted.some((w) => f.startsWith(w)));
// Each bench's servers, configs and archives go under one directory, removed at the end.
const run = runDirectory('agentmem-bench-run-');
let failed = 0;
try {
  for (const file of files) {
    const result = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', join(dir, file)], {
      stdio: 'inherit',
      env: { ...process.env, TMPDIR: run.path },
    });
    if (result.status !== 0) failed++;
  }
} finally {
  run.remove();
}
process.exit(failed ? 1 : 0);
