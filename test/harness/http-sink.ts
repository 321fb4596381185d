/**
 * A local HTTP server standing in for an alert channel (Telegram Bot API, a
 * webhook, Alertmanager): records every request and answers with `status`.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SinkRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

export class HttpSink {
  readonly requests: SinkRequest[] = [];
  /** What to answer (e.g. 500 to play a failing channel). */
  status = 200;

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<HttpSink> {
    let sink: HttpSink | undefined;
    const server = createServer((request, response) => {
      let body = '';
      request.on('data', (d) => {
        body += d;
      });
      request.on('end', () => {
        let parsed: unknown = body;
        try {
          parsed = JSON.parse(body);
        } catch {
          /* keep the text */
        }
        sink?.requests.push({ method: request.method ?? '', path: request.url ?? '', headers: request.headers, body: parsed });
        response.writeHead(sink?.status ?? 200, { 'content-type': 'application/json' }).end('{"ok":true}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    sink = new HttpSink(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return sink;
  }

  /** Requests since the last take(), and forget them. */
  take(): SinkRequest[] {
    return this.requests.splice(0, this.requests.length);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
