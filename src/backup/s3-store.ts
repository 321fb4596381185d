import type { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { AgentmemError, BackupError, loadOptional } from '../errors/index.js';
import { type BackupStore, parseS3Url, type StoredObject } from './store.js';

/** The AWS SDK is an optional dependency: installed by those who keep backups in S3. */
const S3_PACKAGES = ['@aws-sdk/client-s3', '@aws-sdk/lib-storage'];
const s3Sdk = () => loadOptional('backups to S3', S3_PACKAGES, () => import('@aws-sdk/client-s3'));

export interface S3Options {
  /** An S3-compatible endpoint (MinIO, R2, a local test server); default AWS. */
  endpoint?: string;
  region: string;
  /** Path-style URLs (`endpoint/bucket/key`), which most S3-compatible servers need. */
  forcePathStyle: boolean;
  /** Give up a request that has not answered in this long. */
  requestTimeoutMs: number;
}

/**
 * Archives in S3-compatible object storage. Credentials come from the AWS SDK's
 * usual chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, a profile, an
 * instance role), never from agentmem's config. An archive is uploaded in
 * parts and becomes an object only when the upload completes; a failed upload
 * is aborted, so no partial object is left under its name.
 */
export class S3Store implements BackupStore {
  readonly location: string;
  private readonly bucket: string;
  private readonly prefix: string;
  private client: Promise<S3Client> | undefined;

  constructor(
    url: string,
    private readonly options: S3Options,
  ) {
    const parsed = parseS3Url(url);
    this.bucket = parsed.bucket;
    this.prefix = parsed.prefix;
    this.location = `s3://${parsed.bucket}/${parsed.prefix}`;
  }

  private s3(): Promise<S3Client> {
    this.client ??= s3Sdk().then(
      ({ S3Client }) =>
        new S3Client({
          region: this.options.region,
          forcePathStyle: this.options.forcePathStyle,
          maxAttempts: 3,
          requestHandler: { requestTimeout: this.options.requestTimeoutMs, connectionTimeout: this.options.requestTimeoutMs },
          ...(this.options.endpoint ? { endpoint: this.options.endpoint } : {}),
        }),
    );
    return this.client;
  }

  private fail(what: string, error: unknown): AgentmemError {
    // Ours already (a backup error, or the SDK not installed): as it is.
    if (error instanceof AgentmemError) return error;
    const reason = (error as { name?: string; message?: string })?.message ?? String(error);
    return new BackupError('BACKUP_STORE', `${what} ${this.location} failed: ${reason}`, { location: this.location }, { cause: error });
  }

  async put(name: string, body: Readable): Promise<void> {
    const client = await this.s3();
    const { Upload } = await loadOptional('backups to S3', S3_PACKAGES, () => import('@aws-sdk/lib-storage'));
    const upload = new Upload({
      client,
      params: { Bucket: this.bucket, Key: this.prefix + name, Body: body },
      queueSize: 2,
      partSize: 8 * 1024 * 1024,
      leavePartsOnError: false,
    });
    try {
      await upload.done();
    } catch (error) {
      await upload.abort().catch(() => undefined);
      body.destroy();
      throw this.fail(`uploading ${name} to`, error);
    }
  }

  async putText(name: string, text: string): Promise<void> {
    const client = await this.s3();
    const { PutObjectCommand } = await s3Sdk();
    try {
      await client.send(
        new PutObjectCommand({ Bucket: this.bucket, Key: this.prefix + name, Body: text, ContentType: 'application/json' }),
      );
    } catch (error) {
      throw this.fail(`writing ${name} to`, error);
    }
  }

  async get(name: string): Promise<Readable> {
    const client = await this.s3();
    const { GetObjectCommand } = await s3Sdk();
    try {
      const answer = await client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.prefix + name }));
      return answer.Body as Readable;
    } catch (error) {
      if ((error as { name?: string }).name === 'NoSuchKey')
        throw new BackupError('BACKUP_NOT_FOUND', `no ${name} in ${this.location}`, { name });
      throw this.fail(`reading ${name} from`, error);
    }
  }

  async getText(name: string): Promise<string | undefined> {
    try {
      const body = await this.get(name);
      const chunks: Buffer[] = [];
      for await (const chunk of body) chunks.push(Buffer.from(chunk as Uint8Array));
      return Buffer.concat(chunks).toString('utf8');
    } catch (error) {
      if (error instanceof BackupError && error.code === 'BACKUP_NOT_FOUND') return undefined;
      throw error;
    }
  }

  async list(): Promise<StoredObject[]> {
    const client = await this.s3();
    const { ListObjectsV2Command } = await s3Sdk();
    const objects: StoredObject[] = [];
    let token: string | undefined;
    try {
      do {
        const page = await client.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix, ...(token ? { ContinuationToken: token } : {}) }),
        );
        for (const item of page.Contents ?? []) {
          const name = (item.Key ?? '').slice(this.prefix.length);
          if (name && !name.includes('/')) objects.push({ name, bytes: item.Size ?? 0, modified: item.LastModified ?? new Date(0) });
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    } catch (error) {
      throw this.fail('listing', error);
    }
    return objects;
  }

  async remove(name: string): Promise<void> {
    const client = await this.s3();
    const { DeleteObjectCommand } = await s3Sdk();
    try {
      await client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.prefix + name }));
    } catch (error) {
      throw this.fail(`deleting ${name} from`, error);
    }
  }

  close(): void {
    void this.client?.then((c) => c.destroy());
  }
}
