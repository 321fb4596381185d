import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { registry } from '../observability/metrics.js';

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

/**
 * Prometheus exposition on GET /metrics (prom-client's registry), and GET
 * /healthz answering from the last health check (200 healthy, 503 otherwise).
 */
export async function startMetricsServer(options: {
  port: number;
  host?: string;
  health?: () => { state: string } | undefined;
}): Promise<MetricsServer> {
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET') {
      response.writeHead(405).end();
      return;
    }
    if (path === '/metrics') {
      registry
        .metrics()
        .then((body) => response.writeHead(200, { 'content-type': registry.contentType }).end(body))
        .catch((error: Error) => response.writeHead(500).end(error.message));
      return;
    }
    if (path === '/healthz') {
      const last = options.health?.();
      response
        .writeHead(last?.state === 'healthy' ? 200 : 503, { 'content-type': 'application/json' })
        .end(JSON.stringify({ state: last?.state ?? 'unknown' }));
      return;
    }
    response.writeHead(404).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
