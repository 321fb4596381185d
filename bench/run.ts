/** Runs every bench/*.bench.ts (or those named on the command line) one after another. */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = import.meta.dirname;
const wanted = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => wanted.length === 0 || wanted.some((w) => f.startsWith(w)));
// Each bench's servers, configs and archives go under one directory, removed at the end
// (readable by the postgres user the servers run as).
const work = mkdtempSync(join(tmpdir(), 'agentmem-bench-run-'));
chmodSync(work, 0o755);
let failed = 0;
try {
  for (const file of files) {
    const result = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', join(dir, file)], {
      stdio: 'inherit',
      env: { ...process.env, TMPDIR: work },
    });
    if (result.status !== 0) failed++;
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
