import { createHash } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BackupError } from '../errors/index.js';
import { DecryptStream, keyFor } from './crypto.js';
import { ByteReader, decompressor, type FrameType, frames, readHeader } from './format.js';
import { archiveName, type Sidecar, sidecarName, sidecarSchema } from './manifest.js';
import { countRows, type ProgressListener, ProgressMeter } from './progress.js';
import type { ArchiveColumn } from './source.js';
import type { BackupStore } from './store.js';

/** One table of an archive: its columns and its COPY data, to be read to the end before the next table. */
export interface ArchiveSection {
  table: string;
  columns: ArchiveColumn[];
  rows: number;
  data: AsyncIterable<Buffer>;
}

/** A backup's sidecar: what makes an archive a listed, usable backup. */
export async function readSidecar(store: BackupStore, id: string): Promise<Sidecar> {
  const text = await store.getText(sidecarName(id));
  if (text === undefined)
    throw new BackupError(
      'BACKUP_NOT_FOUND',
      `no backup ${id} in ${store.location} (an interrupted backup has no manifest and is not one)`,
      {
        id,
      },
    );
  try {
    return sidecarSchema.parse(JSON.parse(text));
  } catch {
    throw new BackupError('BACKUP_CORRUPT', `the manifest of backup ${id} is damaged`, { id });
  }
}

const corrupt = (id: string, what: string) => new BackupError('BACKUP_CORRUPT', `backup ${id} is damaged: ${what}`, { id });

/**
 * Read an archive table by table, checking everything on the way: the header
 * and key, each segment's authentication (encrypted), the gzip stream, every
 * table's row count and SHA-256 against its end frame and the manifest, the
 * manifest inside against the one beside, and the stored bytes' size and hash.
 * The last checks pass only once the generator has run to its end: a caller
 * commits nothing before that.
 */
export async function* readArchive(
  store: BackupStore,
  sidecar: Sidecar,
  options: { key?: string; onProgress?: ProgressListener; phase?: 'restore' | 'verify' } = {},
): AsyncGenerator<ArchiveSection> {
  const { manifest } = sidecar;
  const id = manifest.id;
  const raw = await store.get(archiveName(id));
  const storedHash = createHash('sha256');
  let storedBytes = 0;
  async function* hashed(): AsyncGenerator<Buffer> {
    for await (const chunk of raw as AsyncIterable<Buffer>) {
      storedHash.update(chunk);
      storedBytes += chunk.length;
      yield chunk;
    }
  }
  const reader = new ByteReader(hashed());
  const header = await readHeader(reader);
  if (header.id !== id) throw corrupt(id, `its header names another backup (${header.id})`);
  if (header.compression !== manifest.compression)
    throw corrupt(id, `its header says ${header.compression} and its manifest ${manifest.compression}`);
  const key = header.encryption ? keyFor(header.encryption, options.key, id) : undefined;
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  const stages = [
    Readable.from(reader.rest()),
    ...(key && header.encryption ? [new DecryptStream(key, header.encryption, id)] : []),
    decompressor(header.compression, id),
    out,
  ];
  const decoding = pipeline(stages as unknown as [NodeJS.ReadableStream, NodeJS.WritableStream]).catch((error: unknown) => {
    const reason = error instanceof BackupError ? error : corrupt(id, `its compressed data is invalid (${(error as Error).message})`);
    out.destroy(reason);
    throw reason;
  });
  decoding.catch(() => undefined);
  const meter = new ProgressMeter(
    options.phase ?? 'restore',
    manifest.tables.reduce((n, t) => n + t.rows, 0),
    options.onProgress,
  );
  const iterator = frames(out as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  const next = async (): Promise<{ type: FrameType; payload: Buffer } | undefined> => {
    const step = await iterator.next();
    return step.done ? undefined : step.value;
  };
  const json = (payload: Buffer): Record<string, unknown> => {
    try {
      return JSON.parse(payload.toString('utf8')) as Record<string, unknown>;
    } catch {
      throw corrupt(id, 'a frame holds invalid JSON');
    }
  };

  let seen = 0;
  for (;;) {
    const f = await next();
    if (!f) throw corrupt(id, 'it is truncated (no manifest at its end)');
    if (f.type === 'M') {
      const inner = json(f.payload);
      if (JSON.stringify(inner) !== JSON.stringify(manifest)) throw corrupt(id, 'the manifest inside differs from the one beside it');
      if (await next()) throw corrupt(id, 'it has data after its manifest');
      break;
    }
    if (f.type !== 'T') throw corrupt(id, `a ${f.type} frame where a table should begin`);
    const start = json(f.payload) as { table: string; columns: ArchiveColumn[] };
    const expected = manifest.tables[seen++];
    if (!expected || expected.name !== start.table) throw corrupt(id, `table ${start.table} is not the next one its manifest lists`);
    const hash = createHash('sha256');
    let rows = 0;
    let finished = false;
    async function* data(): AsyncGenerator<Buffer> {
      for (;;) {
        const d = await next();
        if (!d) throw corrupt(id, `it is truncated inside table ${start.table}`);
        if (d.type === 'D') {
          hash.update(d.payload);
          const n = countRows(d.payload);
          rows += n;
          meter.add(start.table, n, d.payload.length);
          yield d.payload;
          continue;
        }
        if (d.type !== 'E') throw corrupt(id, `a ${d.type} frame inside table ${start.table}`);
        const end = json(d.payload) as { rows: number; sha256: string };
        const sha256 = hash.digest('hex');
        if (end.rows !== rows || end.sha256 !== sha256 || expected?.rows !== rows || expected.sha256 !== sha256)
          throw corrupt(id, `table ${start.table}'s data does not match its checksum (${rows} rows read)`);
        meter.add(start.table, 0, 0, true);
        finished = true;
        return;
      }
    }
    yield { table: start.table, columns: start.columns, rows: expected.rows, data: data() };
    if (!finished) for await (const _ of data()) void _;
  }
  if (seen !== manifest.tables.length) throw corrupt(id, 'tables its manifest lists are missing');
  await decoding;
  if (storedBytes !== sidecar.archive.bytes || storedHash.digest('hex') !== sidecar.archive.sha256)
    throw corrupt(id, 'the stored file is not the one that was written (size or SHA-256 differs)');
}
