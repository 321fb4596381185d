/**
 * agentmem against its peers (mem0, LangGraph's PostgresStore and
 * PostgresSaver, LangChain's PostgresChatMessageHistory, the MCP reference
 * memory server), side by side in one run: bench/peers/run.ts says what is
 * measured and how. The peers' dependency trees stay out of the project's:
 * bench/peers has its own package.json and lockfile, installed here (mem0ai
 * needs --legacy-peer-deps) when its node_modules is missing or older than
 * the lockfile. The library measured is this run's build, as shipped.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const build = fileURLToPath(new URL('..', import.meta.url));
// Run from the runner's build (node_modules/.cache/agentmem-bench) or straight from bench/.
const root = build.includes('/node_modules/.cache/') ? join(build, '../../..') : build;
const peers = join(root, 'bench/peers');
const installed = join(peers, 'node_modules/.package-lock.json');
if (!existsSync(installed) || statSync(installed).mtimeMs < statSync(join(peers, 'package-lock.json')).mtimeMs) {
  // better-sqlite3 (mem0's history store, imported even when history is off) builds from source against this
  // Node's own headers: nothing is downloaded but from the npm registry.
  const env = { ...process.env, npm_config_build_from_source: 'true', npm_config_nodedir: dirname(dirname(process.execPath)) };
  const npm = spawnSync('npm', ['ci', '--legacy-peer-deps', '--no-audit', '--no-fund'], {
    cwd: peers,
    env,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (npm.status !== 0) throw new Error('installing bench/peers failed (npm ci)');
}
const run = spawnSync(process.execPath, ['--import', join(root, 'node_modules/tsx/dist/esm/index.mjs'), join(peers, 'run.ts')], {
  stdio: 'inherit',
  env: { ...process.env, AGENTMEM_BUILD: build, MEM0_TELEMETRY: 'false' },
});
process.exit(run.status ?? 1);
