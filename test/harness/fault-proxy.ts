/**
 * A TCP proxy for fault injection, placed between a client and a real server.
 * Modes: pass, latency (+ jitter), blackhole (accept, never answer), reset
 * (RST every connection), refuse (nothing listens). `cut()` resets the
 * connections that are open now; `onClientData` lets a test act on what the
 * client sends (e.g. drop the link right after COMMIT).
 */
import { createServer, type Server, Socket } from 'node:net';

export type ProxyMode =
  | { kind: 'pass' }
  | { kind: 'latency'; ms: number; jitterMs?: number }
  | { kind: 'blackhole' }
  | { kind: 'reset' }
  | { kind: 'refuse' };

interface Link {
  client: Socket;
  upstream: Socket;
  /** When the last delayed chunk in each direction is due, so delays keep order. */
  dueUp: number;
  dueDown: number;
}

export class FaultProxy {
  private server: Server | undefined;
  private mode: ProxyMode = { kind: 'pass' };
  private readonly links = new Set<Link>();
  /** Called with each chunk the client sends; return 'cut' to reset the link after forwarding it. */
  onClientData: ((chunk: Buffer) => 'cut' | undefined) | undefined;

  private boundPort = 0;

  private constructor(
    private readonly requestedPort: number,
    private readonly upstreamPort: number,
    private readonly upstreamHost: string,
  ) {}

  static async start(upstreamPort: number, options: { port?: number; upstreamHost?: string } = {}): Promise<FaultProxy> {
    const proxy = new FaultProxy(options.port ?? 0, upstreamPort, options.upstreamHost ?? '127.0.0.1');
    await proxy.listen();
    return proxy;
  }

  /** The port clients connect to; it stays the same across refuse/un-refuse. */
  get port(): number {
    return this.boundPort;
  }

  private listen(): Promise<void> {
    const server = createServer((client) => this.accept(client));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.boundPort || this.requestedPort, '127.0.0.1', () => {
        const address = server.address();
        if (typeof address === 'object' && address) this.boundPort = address.port;
        resolve();
      });
    });
  }

  private accept(client: Socket): void {
    client.on('error', () => undefined);
    if (this.mode.kind === 'reset') {
      client.resetAndDestroy();
      return;
    }
    const upstream = new Socket();
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    const link: Link = { client, upstream, dueUp: 0, dueDown: 0 };
    this.links.add(link);
    const forget = () => this.links.delete(link);
    client.on('close', () => {
      upstream.destroy();
      forget();
    });
    upstream.on('close', () => {
      client.destroy();
      forget();
    });
    upstream.connect(this.upstreamPort, this.upstreamHost);
    client.on('data', (chunk) => {
      this.forward(link, 'up', chunk);
      if (this.onClientData?.(chunk) === 'cut') setImmediate(() => this.resetLink(link));
    });
    upstream.on('data', (chunk) => this.forward(link, 'down', chunk));
  }

  private forward(link: Link, direction: 'up' | 'down', chunk: Buffer): void {
    const target = direction === 'up' ? link.upstream : link.client;
    const mode = this.mode;
    if (mode.kind === 'blackhole') return; // swallowed: the peer waits forever
    if (mode.kind !== 'latency') {
      target.write(chunk);
      return;
    }
    const delay = mode.ms + (mode.jitterMs ? Math.random() * mode.jitterMs : 0);
    const key = direction === 'up' ? 'dueUp' : 'dueDown';
    const due = Math.max(Date.now() + delay, link[key]);
    link[key] = due;
    setTimeout(() => {
      if (!target.destroyed) target.write(chunk);
    }, due - Date.now());
  }

  private resetLink(link: Link): void {
    link.client.resetAndDestroy();
    link.upstream.destroy();
    this.links.delete(link);
  }

  /** Reset every open connection (the client sees ECONNRESET). */
  cut(): void {
    for (const link of [...this.links]) this.resetLink(link);
  }

  get openConnections(): number {
    return this.links.size;
  }

  async setMode(mode: ProxyMode): Promise<void> {
    const wasRefusing = this.mode.kind === 'refuse';
    this.mode = mode;
    if (mode.kind === 'refuse' && !wasRefusing) {
      this.cut();
      await new Promise<void>((resolve) => this.server?.close(() => resolve()));
      this.server = undefined;
    } else if (mode.kind !== 'refuse' && wasRefusing) {
      await this.listen();
    }
    if (mode.kind === 'reset') this.cut();
  }

  async stop(): Promise<void> {
    this.cut();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
