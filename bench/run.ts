/**
 * Runs every bench/*.bench.ts (or those named on the command line) one after
 * another, on the library as it ships: compiled by tsc and run by plain node
 * (tsx's on-the-fly transform wraps every closure in a naming helper, which
 * alone was 5–7% of an addMessage call). The build goes under node_modules
 * (where its imports resolve), each bench's servers, configs and archives
 * under one temporary directory; both are removed at the end.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { runDirectory } from '../test/harness/child-env.js';

const dir = import.meta.dirname;
const root = join(dir, '..');
// `--record`: each bench's JSON also goes to bench/results/<name>.json, with the machine it ran on (docs/benchmarks.md is made from them).
const record = process.argv.includes('--record');
const wanted = process.argv.slice(2).filter((a) => a !== '--record');
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => wanted.length === 0 || wanted.some((w) => f.startsWith(w)));
const run = runDirectory('agentmem-bench-run-');

/** Keep a bench's result (the JSON document it printed last) beside the machine, the Node and the day it ran on. */
function recordResult(name: string, stdout: string): void {
  process.stdout.write(stdout);
  const start = stdout.lastIndexOf('\n{\n') >= 0 ? stdout.lastIndexOf('\n{\n') + 1 : stdout.indexOf('{');
  const result = JSON.parse(stdout.slice(start)) as unknown;
  const cpus = os.cpus();
  const recorded = {
    bench: name,
    recordedAt: new Date().toISOString(),
    machine: {
      cpu: cpus[0]?.model ?? 'unknown',
      cores: cpus.length,
      memoryGb: Math.round(os.totalmem() / 1e9),
      os: `${os.platform()} ${os.release()}`,
    },
    node: process.version,
    result,
  };
  mkdirSync(join(dir, 'results'), { recursive: true });
  writeFileSync(join(dir, 'results', `${name}.json`), `${JSON.stringify(recorded, null, 2)}\n`);
}
const build = join(root, 'node_modules', '.cache', 'agentmem-bench');
let failed = 0;
try {
  const tsc = spawnSync(
    process.execPath,
    [
      join(root, 'node_modules/typescript/bin/tsc'),
      '-p',
      join(root, 'tsconfig.json'),
      '--outDir',
      build,
      '--sourceMap',
      'false',
      '--declaration',
      'false',
    ],
    { stdio: 'inherit' },
  );
  if (tsc.status !== 0) throw new Error('the build for the benches failed (tsc)');
  // What the compiled library reads next to itself, as `npm run build` copies it.
  cpSync(join(root, 'src/schema/migrations'), join(build, 'src/schema/migrations'), { recursive: true });
  cpSync(join(root, 'data'), join(build, 'data'), { recursive: true });
  cpSync(join(root, 'package.json'), join(build, 'package.json')); // the version's one source
  // The packaged schema snapshot a new embedded directory starts from, as `npm run build` makes it.
  const snapshot = spawnSync(process.execPath, [join(root, 'scripts/embedded-snapshot.mjs'), join(build, 'src')], { stdio: 'inherit' });
  if (snapshot.status !== 0) throw new Error('the schema snapshot for the benches failed');
  for (const file of files) {
    const result = spawnSync(process.execPath, ['--expose-gc', join(build, 'bench', file.replace(/\.ts$/, '.js'))], {
      stdio: ['inherit', record ? 'pipe' : 'inherit', 'inherit'],
      env: { ...process.env, TMPDIR: run.path },
      maxBuffer: 256 * 1024 * 1024,
    });
    if (result.status !== 0) failed++;
    else if (record) recordResult(file.replace(/\.bench\.ts$/, ''), String(result.stdout));
  }
} finally {
  run.remove();
  rmSync(build, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
