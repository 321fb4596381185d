import { createCipheriv, createDecipheriv, createHmac, randomBytes, scryptSync } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { BackupError } from '../errors/index.js';

/**
 * Encryption of an archive: AES-256-GCM over segments of the compressed
 * stream, so a damaged or cut archive is found as it is read, not only at the
 * end. Each segment is `u32 length (top bit: last segment) | ciphertext | tag`,
 * its nonce the archive's random 8-byte prefix plus the segment's number, and
 * its length word authenticated with it: segments cannot be reordered, cut off
 * or marked last by anyone without the key. The key comes from
 * AGENTMEM_BACKUP_KEY through scrypt with a per-archive salt, and is never
 * written anywhere; a check value in the header tells a wrong key from damage.
 */
export interface EncryptionHeader {
  cipher: 'aes-256-gcm';
  kdf: 'scrypt';
  salt: string;
  nonce: string;
  check: string;
}

export const SEGMENT_BYTES = 1 << 20;
const LAST = 0x8000_0000;
const TAG_BYTES = 16;
const SCRYPT = { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };

function deriveKey(secret: string, salt: Buffer): Buffer {
  return scryptSync(secret, salt, 32, SCRYPT);
}

const checkValue = (key: Buffer): string => createHmac('sha256', key).update('agentmem-backup-key-check').digest('base64').slice(0, 22);

function nonceFor(prefix: Buffer, segment: number): Buffer {
  const nonce = Buffer.alloc(12);
  prefix.copy(nonce, 0, 0, 8);
  nonce.writeUInt32BE(segment, 8);
  return nonce;
}

/** The key from the environment, or undefined when none is set. */
export function backupKeyFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const key = env.AGENTMEM_BACKUP_KEY;
  if (key === undefined || key === '') return undefined;
  if (key.length < 16)
    throw new BackupError('BACKUP_KEY', 'AGENTMEM_BACKUP_KEY is too short: use at least 16 characters (e.g. `openssl rand -base64 32`)');
  return key;
}

export function newEncryption(secret: string): { header: EncryptionHeader; key: Buffer } {
  const salt = randomBytes(16);
  const key = deriveKey(secret, salt);
  return {
    header: {
      cipher: 'aes-256-gcm',
      kdf: 'scrypt',
      salt: salt.toString('base64'),
      nonce: randomBytes(8).toString('base64'),
      check: checkValue(key),
    },
    key,
  };
}

/** The key for an archive's header, or a clear error: no key given, or not the key it was made with. */
export function keyFor(header: EncryptionHeader, secret: string | undefined, id: string): Buffer {
  if (!secret)
    throw new BackupError('BACKUP_KEY', `backup ${id} is encrypted: set AGENTMEM_BACKUP_KEY to the key it was made with`, { id });
  const key = deriveKey(secret, Buffer.from(header.salt, 'base64'));
  if (checkValue(key) !== header.check)
    throw new BackupError('BACKUP_KEY', `AGENTMEM_BACKUP_KEY is not the key backup ${id} was made with`, { id });
  return key;
}

export class EncryptStream extends Transform {
  private pending: Buffer[] = [];
  private size = 0;
  private segment = 0;
  private readonly prefix: Buffer;

  constructor(
    private readonly key: Buffer,
    header: EncryptionHeader,
  ) {
    super();
    this.prefix = Buffer.from(header.nonce, 'base64');
  }

  private seal(plain: Buffer, last: boolean): Buffer {
    const word = plain.length | (last ? LAST : 0);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(word >>> 0);
    const cipher = createCipheriv('aes-256-gcm', this.key, nonceFor(this.prefix, this.segment++));
    cipher.setAAD(length);
    const body = Buffer.concat([cipher.update(plain), cipher.final()]);
    return Buffer.concat([length, body, cipher.getAuthTag()]);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.pending.push(chunk);
    this.size += chunk.length;
    if (this.size >= SEGMENT_BYTES) {
      const all = Buffer.concat(this.pending);
      let at = 0;
      for (; all.length - at >= SEGMENT_BYTES; at += SEGMENT_BYTES) this.push(this.seal(all.subarray(at, at + SEGMENT_BYTES), false));
      this.pending = at < all.length ? [all.subarray(at)] : [];
      this.size = all.length - at;
    }
    done();
  }

  override _flush(done: TransformCallback): void {
    this.push(this.seal(Buffer.concat(this.pending), true));
    done();
  }
}

export class DecryptStream extends Transform {
  private buffer: Buffer = Buffer.alloc(0);
  private segment = 0;
  private ended = false;
  private readonly prefix: Buffer;

  constructor(
    private readonly key: Buffer,
    header: EncryptionHeader,
    private readonly id: string,
  ) {
    super();
    this.prefix = Buffer.from(header.nonce, 'base64');
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    try {
      while (this.buffer.length >= 4) {
        if (this.ended) throw new BackupError('BACKUP_CORRUPT', `backup ${this.id} has data after its last segment`, { id: this.id });
        const word = this.buffer.readUInt32BE(0);
        const length = word & ~LAST & 0x7fff_ffff;
        if (length > SEGMENT_BYTES) throw this.damaged();
        if (this.buffer.length < 4 + length + TAG_BYTES) break;
        const decipher = createDecipheriv('aes-256-gcm', this.key, nonceFor(this.prefix, this.segment++));
        decipher.setAAD(this.buffer.subarray(0, 4));
        decipher.setAuthTag(this.buffer.subarray(4 + length, 4 + length + TAG_BYTES));
        let plain: Buffer;
        try {
          plain = Buffer.concat([decipher.update(this.buffer.subarray(4, 4 + length)), decipher.final()]);
        } catch {
          throw this.damaged();
        }
        this.buffer = this.buffer.subarray(4 + length + TAG_BYTES);
        if ((word & LAST) !== 0) this.ended = true;
        if (plain.length) this.push(plain);
      }
      done();
    } catch (error) {
      done(error as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    if (!this.ended || this.buffer.length)
      done(new BackupError('BACKUP_CORRUPT', `backup ${this.id} is truncated: its last segment is missing`, { id: this.id }));
    else done();
  }

  private damaged(): BackupError {
    return new BackupError('BACKUP_CORRUPT', `backup ${this.id} is damaged: segment ${this.segment} fails its authentication check`, {
      id: this.id,
    });
  }
}
