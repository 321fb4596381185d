import type { Transform } from 'node:stream';
import { constants, createBrotliCompress, createBrotliDecompress, createGunzip, createGzip } from 'node:zlib';
import { ARCHIVE_COMPRESSIONS, type ArchiveCompression, COMPRESSION_LEVELS, DEFAULT_COMPRESSION_LEVEL } from '../core/enums.js';
import { BackupError, ValidationError } from '../errors/index.js';
import type { EncryptionHeader } from './crypto.js';

/**
 * The archive format. A stored archive is a plain header line (format,
 * compression, encryption parameters; never a key) followed by the body: a
 * brotli or gzip stream (encrypted in segments when a key is set) of frames
 * `type (1 byte) | length (u32) | payload`:
 *   T  a table begins: JSON {table, columns}
 *   D  COPY text-format data of that table
 *   E  the table ends: JSON {table, rows, bytes, sha256}
 *   M  the manifest (JSON), always last.
 * COPY's text format is the same on PostgreSQL and PGlite, so an archive
 * restores into either. Format 1 archives are gzip only; format 2 names its
 * compression (brotli by default).
 */
export const MAGIC = 'AGENTMEM-BACKUP';
export const FORMAT_VERSION = 2;

export interface ArchiveHeader {
  format: number;
  id: string;
  compression: ArchiveCompression;
  encryption: EncryptionHeader | null;
}

/** Output in 1 MiB pieces: fewer hand-offs between the compressor's thread and the main one than the default 16 KiB. */
const CHUNK_BYTES = 1 << 20;

export function compressor(compression: ArchiveCompression, level = DEFAULT_COMPRESSION_LEVEL): Transform {
  const { min, max } = COMPRESSION_LEVELS[compression];
  if (!Number.isInteger(level) || level < min || level > max)
    throw new ValidationError(`${compression} takes a compression level from ${min} to ${max}, not ${level}`);
  return compression === 'brotli'
    ? createBrotliCompress({ chunkSize: CHUNK_BYTES, params: { [constants.BROTLI_PARAM_QUALITY]: level } })
    : createGzip({ level, chunkSize: CHUNK_BYTES });
}

export function decompressor(compression: string, id: string): Transform {
  if (!(ARCHIVE_COMPRESSIONS as readonly string[]).includes(compression))
    throw new BackupError('BACKUP_CORRUPT', `backup ${id} names a compression agentmem does not read (${JSON.stringify(compression)})`, {
      id,
    });
  if (compression === 'brotli') return createBrotliDecompress({ chunkSize: CHUNK_BYTES });
  return createGunzip({ chunkSize: CHUNK_BYTES });
}

export type FrameType = 'T' | 'D' | 'E' | 'M';

export function headerBytes(header: ArchiveHeader): Buffer {
  return Buffer.from(`${MAGIC} ${FORMAT_VERSION}\n${JSON.stringify(header)}\n`);
}

/** One frame, its payload given whole or in parts: the parts are copied once, straight into the frame. */
export function frame(type: FrameType, payload: Buffer | string | Buffer[]): Buffer {
  const parts = typeof payload === 'string' ? [Buffer.from(payload)] : Array.isArray(payload) ? payload : [payload];
  const length = parts.reduce((n, part) => n + part.length, 0);
  const out = Buffer.allocUnsafe(5 + length);
  out.write(type, 0, 'latin1');
  out.writeUInt32BE(length, 1);
  let at = 5;
  for (const part of parts) at += part.copy(out, at);
  return out;
}

/** Reads exact byte counts from a stream of chunks. */
export class ByteReader {
  private chunks: Buffer[] = [];
  private size = 0;
  private done = false;

  constructor(private readonly source: AsyncIterator<Buffer>) {}

  private async fill(n: number): Promise<boolean> {
    while (this.size < n && !this.done) {
      const next = await this.source.next();
      if (next.done) this.done = true;
      else {
        this.chunks.push(next.value);
        this.size += next.value.length;
      }
    }
    return this.size >= n;
  }

  /** Exactly n bytes, or undefined at a clean end of stream (no bytes left); a partial read throws. */
  async read(n: number, what: string): Promise<Buffer | undefined> {
    if (!(await this.fill(n))) {
      if (this.size === 0 && n > 0) return undefined;
      throw new BackupError('BACKUP_CORRUPT', `the archive ends in the middle of ${what}`);
    }
    const all = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.chunks = rest.length ? [rest] : [];
    this.size = rest.length;
    return out;
  }

  /** The bytes up to and including the next newline (the header lines), at most `max`. */
  async line(max: number): Promise<string> {
    for (;;) {
      const all = Buffer.concat(this.chunks);
      this.chunks = all.length ? [all] : [];
      const at = all.indexOf(10);
      if (at >= 0) {
        this.chunks = [all.subarray(at + 1)];
        this.size = all.length - at - 1;
        return all.subarray(0, at).toString('utf8');
      }
      if (all.length > max || !(await this.fill(this.size + 1)))
        throw new BackupError('BACKUP_CORRUPT', 'not an agentmem backup: no header line');
    }
  }

  /** What is left, as a stream of chunks. */
  async *rest(): AsyncGenerator<Buffer> {
    for (const chunk of this.chunks) yield chunk;
    this.chunks = [];
    this.size = 0;
    for (;;) {
      const next = await this.source.next();
      if (next.done) return;
      yield next.value;
    }
  }
}

export async function readHeader(reader: ByteReader): Promise<ArchiveHeader> {
  const magic = await reader.line(64);
  const [word, version] = magic.split(' ');
  if (word !== MAGIC) throw new BackupError('BACKUP_CORRUPT', 'not an agentmem backup (no AGENTMEM-BACKUP header)');
  if (Number(version) > FORMAT_VERSION)
    throw new BackupError(
      'BACKUP_SCHEMA',
      `archive format ${version} is newer than this agentmem reads (${FORMAT_VERSION}): upgrade agentmem`,
    );
  try {
    return JSON.parse(await reader.line(4096)) as ArchiveHeader;
  } catch (error) {
    if (error instanceof BackupError) throw error;
    throw new BackupError('BACKUP_CORRUPT', 'the archive header is damaged');
  }
}

/** The frames of a decompressed body, in order. */
export async function* frames(body: AsyncIterable<Buffer>): AsyncGenerator<{ type: FrameType; payload: Buffer }> {
  const reader = new ByteReader(body[Symbol.asyncIterator]());
  for (;;) {
    const head = await reader.read(5, 'a frame header');
    if (!head) return;
    const type = head.toString('latin1', 0, 1);
    if (!'TDEM'.includes(type))
      throw new BackupError('BACKUP_CORRUPT', `the archive holds an unknown frame type (${JSON.stringify(type)})`);
    const length = head.readUInt32BE(1);
    const payload = length === 0 ? Buffer.alloc(0) : await reader.read(length, `a ${type} frame`);
    if (!payload) throw new BackupError('BACKUP_CORRUPT', `the archive ends after a ${type} frame header`);
    yield { type: type as FrameType, payload };
  }
}
