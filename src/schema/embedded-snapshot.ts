/**
 * The embedded database's schema as the package ships it. A new embedded data
 * directory starts from a dump of a database the build migrated to the current
 * schema, instead of PGlite's initdb followed by every migration (most of a
 * first run's time). The dump is used only when it is exactly what the
 * migrator would make here: the same migrations (their checksums), the same
 * schema name and embedding dimension, the same PGlite and pgvector builds.
 * Anything else — a schema name of the user's own, another dimension, a
 * source checkout that was not built — creates and migrates the directory as
 * before, and so does a directory that is not new.
 *
 * Every directory made from one build's dump shares its initdb's system
 * identifier; the replicator also tells a re-created source by its
 * transaction counter, which starts again from the dump's.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_TIMEOUTS } from '../config/index.js';
import { installedVersion } from '../core/version.js';
import { logger } from '../observability/logger.js';
import { EmbeddedProvider, type EmbeddedSeed } from '../providers/index.js';
import { loadMigrations } from './migrations.js';
import { Migrator } from './migrator.js';

/** Where the build writes the dump and its manifest: next to the compiled migrations. */
export const SNAPSHOT_DIR = dirname(fileURLToPath(import.meta.url));
const DUMP = 'embedded-snapshot.tar.gz';
const MANIFEST = 'embedded-snapshot.json';

/** What a dump was made with; it seeds a new directory only when every field is what this process would make. */
interface SnapshotManifest {
  format: 1;
  schema: string;
  embeddingDim: number;
  /** sha256 over every migration's version and checksum, in order. */
  migrations: string;
  pglite: string;
  pgvector: string;
}

function manifestFor(options: { schema: string; embeddingDim: number }): SnapshotManifest {
  const migrations = createHash('sha256');
  for (const m of loadMigrations()) migrations.update(`${m.version}:${m.checksum}\n`);
  return {
    format: 1,
    schema: options.schema,
    embeddingDim: options.embeddingDim,
    migrations: migrations.digest('hex'),
    pglite: installedVersion('@electric-sql/pglite'),
    pgvector: installedVersion('@electric-sql/pglite-pgvector'),
  };
}

/**
 * The seed for a new embedded directory of this schema and dimension: the
 * packaged dump when its manifest matches (else undefined, and the directory
 * is created and migrated as usual). Read only when a new directory is opened.
 */
export function embeddedSnapshot(options: { schema: string; embeddingDim: number }, dir: string = SNAPSHOT_DIR): EmbeddedSeed {
  return async () => {
    try {
      if (!existsSync(join(dir, MANIFEST))) return undefined;
      const shipped = JSON.parse(readFileSync(join(dir, MANIFEST), 'utf8')) as SnapshotManifest;
      const here = manifestFor(options);
      const differs = (Object.keys(here) as (keyof SnapshotManifest)[]).filter((key) => shipped[key] !== here[key]);
      if (differs.length) {
        logger().debug({ differs }, 'the packaged schema snapshot is not this schema: creating the embedded database');
        return undefined;
      }
      return new Blob([readFileSync(join(dir, DUMP))]);
    } catch (error) {
      // A damaged or unreadable snapshot costs only time: the directory is made the long way.
      logger().warn({ err: (error as Error).message }, 'could not read the packaged schema snapshot; creating the embedded database');
      return undefined;
    }
  };
}

/** Make the dump of a database migrated for `options` and its manifest in `dir` (the build does, for the default config's). */
export async function writeEmbeddedSnapshot(
  options: { schema: string; embeddingDim: number },
  dir: string = SNAPSHOT_DIR,
): Promise<{ bytes: number }> {
  const work = mkdtempSync(join(tmpdir(), 'agentmem-snapshot-'));
  try {
    const provider = await EmbeddedProvider.open({
      name: 'snapshot',
      kind: 'embedded',
      role: 'primary',
      dataDir: join(work, 'data'),
      pool: { max: 1, idleTimeoutMs: 0 },
      timeouts: { ...DEFAULT_TIMEOUTS },
    });
    try {
      await new Migrator(provider, options).up();
      const dump = Buffer.from(await (await provider.dump()).arrayBuffer());
      writeFileSync(join(dir, DUMP), dump);
      writeFileSync(join(dir, MANIFEST), `${JSON.stringify(manifestFor(options), null, 2)}\n`);
      return { bytes: dump.length };
    } finally {
      await provider.close();
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
