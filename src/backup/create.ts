import { createHash, randomBytes } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type ArchiveCompression, DEFAULT_ARCHIVE_COMPRESSION } from '../core/enums.js';
import { TABLES } from '../core/tables.js';
import { AGENTMEM_VERSION } from '../core/version.js';
import type { BulkSession, Provider, Queryable } from '../providers/index.js';
import { bucketChecksums, REPLICATED_TABLES, type ReplicatedTable } from '../replication/index.js';
import { latestSchemaVersion, requireAllTenants } from '../schema/index.js';
import { EncryptStream, newEncryption } from './crypto.js';
import { type ArchiveHeader, compressor, FORMAT_VERSION, frame, headerBytes } from './format.js';
import { archiveName, type Manifest, type Sidecar, sidecarName } from './manifest.js';
import { countRows, type ProgressListener, ProgressMeter } from './progress.js';
import { type ArchiveColumn, tableColumns, tenantLiteral } from './source.js';
import type { BackupStore } from './store.js';

export interface CreateBackupOptions {
  schema: string;
  store: BackupStore;
  /** Only this tenant's rows (default: every tenant). */
  tenant?: string;
  /** Encrypt with a key derived from this secret (AGENTMEM_BACKUP_KEY). */
  key?: string;
  /** brotli (the default) or gzip. */
  compression?: ArchiveCompression;
  /** The compression's level (brotli's quality 0–11, gzip's level 1–9); 1 by default, the fastest that still compresses well. */
  compressionLevel?: number;
  onProgress?: ProgressListener;
}

/** `20261125T020000Z-neon-all-3f9a`: sorts by time; names the source and scope. */
export function backupId(provider: string, tenant: string | undefined, at: Date): string {
  const stamp = at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  const scope = tenant === undefined ? 'all' : `t_${tenant.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 40)}`;
  return `${stamp}-${provider.replace(/[^A-Za-z0-9_.-]/g, '_')}-${scope}-${randomBytes(2).toString('hex')}`;
}

const DATA_FRAME_BYTES = 256 * 1024;

/**
 * A logical backup of agentmem's tables on one provider, read in one snapshot
 * (a REPEATABLE READ, READ ONLY transaction on the direct connection) and
 * streamed — COPY → frames → gzip → (encryption) → the store — so memory stays
 * flat however large the tables are. The archive is listed only once its
 * sidecar manifest is written, after the archive itself is complete.
 */
export async function createBackup(provider: Provider, options: CreateBackupOptions): Promise<Sidecar> {
  const started = new Date();
  const id = backupId(provider.name, options.tenant, started);
  const source = provider.direct();
  // Row-level security would silently leave rows out of the backup.
  await requireAllTenants(source, options.schema);
  const compression = options.compression ?? DEFAULT_ARCHIVE_COMPRESSION;
  const compress = compressor(compression, options.compressionLevel);
  const encryption = options.key ? newEncryption(options.key) : undefined;
  const header: ArchiveHeader = { format: FORMAT_VERSION, id, compression, encryption: encryption?.header ?? null };
  const archiveHash = createHash('sha256');
  let archiveBytes = 0;

  const manifest = await source.bulk(
    async (session) => {
      await session.query("SELECT set_config('TimeZone', 'UTC', true)");
      const facts = await snapshotFacts(session, options.schema);
      const columns = await tableColumns(session, options.schema);
      const tables = TABLES.filter((t) => t.backedUp && columns.has(t.name));
      const counts = await rowCounts(
        session,
        options.schema,
        tables.map((t) => t.name),
        options.tenant,
      );
      const meter = new ProgressMeter(
        'backup',
        [...counts.values()].reduce((a, b) => a + b, 0),
        options.onProgress,
      );
      // The bucket checksums a restore test compares with, from the same snapshot (the current schema's rows only):
      // on PostgreSQL on a second connection sharing this snapshot, in parallel with the COPY; on PGlite after it.
      const checksummed = REPLICATED_TABLES.filter((t) => facts.version === latestSchemaVersion() && columns.has(t.name));
      const sums = (db: Queryable) => tableChecksums(db, options.schema, checksummed, options.tenant);
      let parallel: Promise<Manifest['checksums']> | undefined;
      if (source.kind === 'postgres' && checksummed.length) {
        const { rows } = await session.query<{ id: string }>('SELECT pg_export_snapshot() AS id');
        parallel = source.bulk(sums, { isolation: 'repeatable read', readOnly: true, snapshot: String(rows[0]?.id) });
        parallel.catch(() => undefined);
      }
      const manifest: Manifest = {
        format: FORMAT_VERSION,
        id,
        agentmemVersion: AGENTMEM_VERSION,
        schema: { name: options.schema, version: facts.version, migrations: facts.migrations },
        source: { provider: provider.name, kind: provider.kind, target: provider.describe().target, serverVersion: facts.serverVersion },
        tenant: options.tenant ?? null,
        startedAt: started.toISOString(),
        finishedAt: '',
        snapshotAt: facts.snapshotAt,
        compression,
        encrypted: Boolean(encryption),
        tables: [],
        checksums: {},
      };

      async function* body(): AsyncGenerator<Buffer> {
        for (const table of tables) {
          const cols = columns.get(table.name) ?? [];
          yield* tableFrames(session, {
            schema: options.schema,
            table: table.name,
            columns: cols,
            tenant: options.tenant,
            meter,
            manifest,
          });
        }
        manifest.checksums = await (parallel ?? sums(session));
        manifest.finishedAt = new Date().toISOString();
        yield frame('M', JSON.stringify(manifest));
      }

      const tail = encryption ? new EncryptStream(encryption.key, encryption.header) : new PassThrough();
      const produced = pipeline(Readable.from(body()), compress, tail);
      async function* stored(): AsyncGenerator<Buffer> {
        const head = headerBytes(header);
        archiveHash.update(head);
        archiveBytes += head.length;
        yield head;
        for await (const chunk of tail as AsyncIterable<Buffer>) {
          archiveHash.update(chunk);
          archiveBytes += chunk.length;
          yield chunk;
        }
      }
      const storedStream = Readable.from(stored());
      // A failure on either side ends the other: no half-written archive is ever completed.
      produced.catch((error) => storedStream.destroy(error));
      await Promise.all([produced, options.store.put(archiveName(id), storedStream)]);
      return manifest;
    },
    { isolation: 'repeatable read', readOnly: true },
  );

  const sidecar: Sidecar = { manifest, archive: { name: archiveName(id), bytes: archiveBytes, sha256: archiveHash.digest('hex') } };
  // Written last: an archive without its sidecar is not listed as a backup.
  await options.store.putText(sidecarName(id), `${JSON.stringify(sidecar, null, 2)}\n`);
  return sidecar;
}

/** One table's frames: its columns, its COPY data in frames of about 256 KiB, its row count and SHA-256 (also noted in the manifest). */
async function* tableFrames(
  session: BulkSession,
  t: { schema: string; table: string; columns: ArchiveColumn[]; tenant: string | undefined; meter: ProgressMeter; manifest: Manifest },
): AsyncGenerator<Buffer> {
  yield frame('T', JSON.stringify({ table: t.table, columns: t.columns }));
  const list = t.columns.map((c) => c.name).join(', ');
  const from =
    t.tenant === undefined
      ? `${t.schema}.${t.table} (${list})`
      : `(SELECT ${list} FROM ${t.schema}.${t.table} WHERE tenant_id = ${tenantLiteral(t.tenant)})`;
  const hash = createHash('sha256');
  let rows = 0;
  let bytes = 0;
  let pending: Buffer[] = [];
  let size = 0;
  for await (const data of session.copyOut(from)) {
    const chunk = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    hash.update(chunk);
    const n = countRows(chunk);
    rows += n;
    bytes += chunk.length;
    pending.push(chunk);
    size += chunk.length;
    t.meter.add(t.table, n, chunk.length);
    if (size >= DATA_FRAME_BYTES) {
      yield frame('D', pending);
      pending = [];
      size = 0;
    }
  }
  if (size) yield frame('D', pending);
  const sha256 = hash.digest('hex');
  t.manifest.tables.push({ name: t.table, columns: t.columns, rows, bytes, sha256 });
  t.meter.add(t.table, 0, 0, true);
  yield frame('E', JSON.stringify({ table: t.table, rows, bytes, sha256 }));
}

async function tableChecksums(db: Queryable, schema: string, tables: ReplicatedTable[], tenant?: string): Promise<Manifest['checksums']> {
  const out: Manifest['checksums'] = {};
  for (const table of tables) {
    const sums = await bucketChecksums(db, schema, table, tenant);
    out[table.name] = Object.fromEntries([...sums].map(([bucket, sum]) => [String(bucket), sum]));
  }
  return out;
}

async function snapshotFacts(session: BulkSession, schema: string) {
  const { rows } = await session.query<{ at: Date | string; server: string }>(
    "SELECT now() AS at, current_setting('server_version') AS server",
  );
  const { rows: applied } = await session.query<{ version: number; name: string; checksum: string }>(
    `SELECT version, name, checksum FROM ${schema}.schema_versions ORDER BY version`,
  );
  const at = rows[0]?.at;
  return {
    snapshotAt: (at instanceof Date ? at : new Date(String(at))).toISOString(),
    serverVersion: String(rows[0]?.server ?? ''),
    version: applied.length ? Math.max(...applied.map((m) => Number(m.version))) : 0,
    migrations: applied.map((m) => ({ version: Number(m.version), name: m.name, checksum: m.checksum })),
  };
}

/** Rows per table, for progress: the planner's estimate for a whole table (no scan), an exact count for one tenant. */
async function rowCounts(session: BulkSession, schema: string, tables: string[], tenant?: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const name of tables) {
    const { rows } =
      tenant === undefined
        ? await session.query<{ n: string }>(
            'SELECT greatest(c.reltuples, 0)::bigint::text AS n FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace WHERE s.nspname = $1 AND c.relname = $2',
            [schema, name],
          )
        : await session.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${schema}.${name} WHERE tenant_id = $1`, [tenant]);
    counts.set(name, Number(rows[0]?.n ?? 0));
  }
  return counts;
}
