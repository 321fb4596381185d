import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BackupError } from '../errors/index.js';

export interface StoredObject {
  name: string;
  bytes: number;
  modified: Date;
}

/**
 * Where archives are kept: a local directory or S3-compatible object storage.
 * `put` is atomic — an object is visible under its name only once complete
 * (a temporary name and rename; a multipart upload completed at the end).
 */
export interface BackupStore {
  /** Where it is, for people (no credentials). */
  readonly location: string;
  put(name: string, body: Readable): Promise<void>;
  putText(name: string, text: string): Promise<void>;
  get(name: string): Promise<Readable>;
  /** The text of a small object, or undefined when there is none. */
  getText(name: string): Promise<string | undefined>;
  list(): Promise<StoredObject[]>;
  remove(name: string): Promise<void>;
  /** Release connections (object storage). */
  close?(): void;
}

const TEMP_PREFIX = '.incomplete-';

export class LocalStore implements BackupStore {
  readonly location: string;

  constructor(private readonly dir: string) {
    this.location = resolve(dir);
  }

  async put(name: string, body: Readable): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const temp = join(this.dir, `${TEMP_PREFIX}${process.pid}-${name}`);
    try {
      await pipeline(body, createWriteStream(temp, { flags: 'wx' }));
      // Durable before it becomes visible: a crash after the rename must not leave a listed, empty file.
      const handle = await open(temp, 'r');
      await handle.sync().finally(() => handle.close());
      await rename(temp, join(this.dir, name));
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
  }

  async putText(name: string, text: string): Promise<void> {
    await this.put(name, Readable.from([Buffer.from(text)]));
  }

  async get(name: string): Promise<Readable> {
    try {
      await stat(join(this.dir, name));
    } catch {
      throw new BackupError('BACKUP_NOT_FOUND', `no ${name} in ${this.location}`, { name });
    }
    return createReadStream(join(this.dir, name), { highWaterMark: 1 << 20 });
  }

  async getText(name: string): Promise<string | undefined> {
    return readFile(join(this.dir, name), 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
  }

  async list(): Promise<StoredObject[]> {
    const names = await readdir(this.dir).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [] as string[];
      throw error;
    });
    const objects: StoredObject[] = [];
    for (const name of names) {
      const info = await stat(join(this.dir, name)).catch(() => undefined);
      if (info?.isFile()) objects.push({ name, bytes: info.size, modified: info.mtime });
    }
    return objects;
  }

  async remove(name: string): Promise<void> {
    await rm(join(this.dir, name), { force: true });
  }
}

export interface S3Location {
  bucket: string;
  prefix: string;
}

/** `s3://bucket/prefix` → bucket and prefix (no leading slash, ending in `/` when not empty). */
export function parseS3Url(url: string): S3Location {
  const match = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(\/.*)?$/.exec(url);
  if (!match) throw new BackupError('BACKUP_STORE', `not an S3 location: ${url} (expected s3://bucket/prefix)`);
  const prefix = (match[2] ?? '').replace(/^\/+/, '');
  return { bucket: match[1] as string, prefix: prefix && !prefix.endsWith('/') ? `${prefix}/` : prefix };
}
