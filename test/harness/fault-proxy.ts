/**
 * A TCP proxy for fault injection, placed between a client and a real server.
 * Modes: pass, latency (+ jitter), blackhole (accept, never answer), reset
 * (RST every connection), refuse (nothing listens). `cut()` resets the
 * connections that are open now; `onClientData` lets a test act on what the
 * client sends (e.g. drop the link right after COMMIT).
 *
 * Like TCP, it never reorders or loses bytes on a connection that stays open:
 * delayed chunks leave in order from one queue per direction (a timer per
 * chunk let two chunks due in the same millisecond swap, and the client's
 * protocol parser then read garbage), and a black hole holds what it is sent
 * until the path clears, as a network's retransmissions would deliver it.
 */
import { createServer, type Server, Socket } from 'node:net';

export type ProxyMode =
  | { kind: 'pass' }
  | { kind: 'latency'; ms: number; jitterMs?: number }
  | { kind: 'blackhole' }
  | { kind: 'reset' }
  | { kind: 'refuse' };

/** One direction of a link: chunks waiting to be written, in the order they came, each with when it is due. */
interface Lane {
  target: Socket;
  waiting: { due: number; chunk: Buffer }[];
  timer: NodeJS.Timeout | undefined;
}

interface Link {
  client: Socket;
  upstream: Socket;
  up: Lane;
  down: Lane;
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
    const lane = (target: Socket): Lane => ({ target, waiting: [], timer: undefined });
    const link: Link = { client, upstream, up: lane(upstream), down: lane(client) };
    this.links.add(link);
    const forget = () => {
      for (const lane of [link.up, link.down]) clearTimeout(lane.timer);
      this.links.delete(link);
    };
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
    const lane = link[direction];
    const mode = this.mode;
    // A black hole holds the chunk (due never, until the mode changes); latency delays it; nothing overtakes.
    const delay =
      mode.kind === 'blackhole'
        ? Number.POSITIVE_INFINITY
        : mode.kind === 'latency'
          ? mode.ms + (mode.jitterMs ? Math.random() * mode.jitterMs : 0)
          : 0;
    if (delay === 0 && !lane.waiting.length) {
      lane.target.write(chunk);
      return;
    }
    const last = lane.waiting[lane.waiting.length - 1];
    lane.waiting.push({ due: Math.max(Date.now() + delay, last?.due ?? 0), chunk });
    this.drain(lane);
  }

  /** Write what is due, in order; wait for the next one (none while it is held by a black hole). */
  private drain(lane: Lane): void {
    clearTimeout(lane.timer);
    lane.timer = undefined;
    const now = Date.now();
    while (lane.waiting[0] && lane.waiting[0].due <= now) {
      const { chunk } = lane.waiting.shift() as { chunk: Buffer };
      if (!lane.target.destroyed) lane.target.write(chunk);
    }
    const next = lane.waiting[0]?.due;
    if (next !== undefined && Number.isFinite(next)) lane.timer = setTimeout(() => this.drain(lane), next - now);
  }

  /** The path cleared: what a black hole held goes now, in order, ahead of anything sent after it. */
  private release(): void {
    const now = Date.now();
    for (const link of this.links)
      for (const lane of [link.up, link.down]) {
        for (const waiting of lane.waiting) if (!Number.isFinite(waiting.due)) waiting.due = now;
        this.drain(lane);
      }
  }

  private resetLink(link: Link): void {
    for (const lane of [link.up, link.down]) clearTimeout(lane.timer);
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
    const wasHolding = this.mode.kind === 'blackhole';
    this.mode = mode;
    if (wasHolding && mode.kind !== 'blackhole') this.release();
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
