import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// @ts-expect-error s3rver ships no types
import S3rver from 's3rver';
import { freePort } from './postgres.js';

/**
 * A real S3-protocol server (the `s3rver` package: no S3 server is in Debian)
 * on loopback, with one bucket. The AWS SDK talks to it as to S3 (signed
 * requests, multipart uploads), with its fixed credentials.
 */
export class S3Server {
  static readonly credentials = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' };

  private constructor(
    private readonly server: { close(): Promise<void> },
    readonly port: number,
    private readonly dir: string,
  ) {}

  static async start(bucket: string): Promise<S3Server> {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'agentmem-s3-'));
    const server = new S3rver({ port, address: '127.0.0.1', silent: true, directory: dir, configureBuckets: [{ name: bucket }] });
    await server.run();
    return new S3Server(server, port, dir);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    await this.server.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
