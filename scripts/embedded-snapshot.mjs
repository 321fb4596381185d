// A new embedded database starts from a dump of one the build migrated (see src/schema/embedded-snapshot.ts):
// made here, by the compiled library in the directory given as the argument (default dist/), for the default
// config's schema name and embedding dimension, and written next to that library's compiled migrations.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const library = resolve(process.argv[2] ?? join(import.meta.dirname, '../dist'));
const load = (path) => import(pathToFileURL(join(library, path)).href);
const { loadConfig } = await load('config/index.js');
const { schemaOptions, writeEmbeddedSnapshot } = await load('schema/index.js');
const cwd = mkdtempSync(join(tmpdir(), 'agentmem-snapshot-config-'));
try {
  const config = await loadConfig({ cwd, env: {} });
  await writeEmbeddedSnapshot(schemaOptions(config));
} finally {
  rmSync(cwd, { recursive: true, force: true });
}
