/**
 * A new user's first minutes on the embedded default, against raw PGlite's own
 * start-up in the same run. Each figure is a new Node process, timed from its
 * spawn to its exit, as a user meets it (module loading and PGlite's
 * WebAssembly compile included); sittings alternate which goes first.
 *   - raw PGlite (with pgvector): a new data directory and one query — the
 *     floor no agentmem work can go under;
 *   - the first createMemory() and first call on a new directory (the schema
 *     created), target < 3 s;
 *   - a later open of that directory and a call, target < 1 s;
 *   - `agentmem demo` in a new directory, target < 10 s.
 * Prints JSON (min–median–max over BENCH_SITTINGS sittings, milliseconds).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LIBRARY, spread } from './stats.js';

const SITTINGS = Number(process.env.BENCH_SITTINGS ?? 5);
// The library as this bench runs it (compiled beside it), and PGlite as it resolves from here.
const CLI = new URL('../src/cli/main.js', import.meta.url).href;
const LIB = new URL('../src/index.js', import.meta.url).href;
const PGLITE = import.meta.resolve('@electric-sql/pglite');
const PGVECTOR = import.meta.resolve('@electric-sql/pglite-pgvector');

const RAW = `const { PGlite } = await import('${PGLITE}'); const { vector } = await import('${PGVECTOR}');
  const db = await PGlite.create('data', { extensions: { vector } }); await db.query('SELECT 1'); await db.close();`;
// The CLI as bin/agentmem.js runs it.
const DEMO = `const { main } = await import('${CLI}'); process.exit(await main(['node', 'agentmem', 'demo']));`;
const OPEN = `const { createMemory } = await import('${LIB}');
  const memory = await createMemory(); await memory.settings.list(); await memory.close();`;

/** Wall time of a new process, from spawn to a successful exit. */
function processMs(args: string[], cwd: string): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, AGENTMEM_LOG_LEVEL: 'error' },
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(performance.now() - started) : reject(new Error(`exited ${code}: ${stderr}`))));
  });
}
const script = (source: string, cwd: string) => processMs(['--input-type=module', '-e', source], cwd);
const fresh = () => mkdtempSync(join(tmpdir(), 'agentmem-first-'));

const raw: number[] = [];
const first: number[] = [];
const reopen: number[] = [];
const demos: number[] = [];
for (let sitting = 0; sitting < SITTINGS; sitting++) {
  const ours = async () => {
    const dir = fresh();
    first.push(await script(OPEN, dir));
    reopen.push(await script(OPEN, dir));
  };
  const baseline = async () => raw.push(await script(RAW, fresh()));
  if (sitting % 2 === 0) {
    await baseline();
    await ours();
  } else {
    await ours();
    await baseline();
  }
  demos.push(await script(DEMO, fresh()));
}
console.log(
  JSON.stringify(
    {
      bench: 'first-run',
      library: LIBRARY,
      raw_pglite_new_directory_ms: spread(raw),
      first_create_memory_and_call_ms: { ...spread(first), target: 3000 },
      first_over_raw_pglite_ms: spread(first.map((ms, i) => ms - (raw[i] ?? 0))),
      later_open_and_call_ms: { ...spread(reopen), target: 1000 },
      demo_process_ms: { ...spread(demos), target: 10_000 },
    },
    null,
    2,
  ),
);
