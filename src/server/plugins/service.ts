/** The server's own routes: the dashboard page and its overview, liveness and provider health, metrics, the OpenAPI document. */
import type { FastifyPluginAsync } from 'fastify';
import type { AgentMemory } from '../../memory/index.js';
import { registry } from '../../observability/metrics.js';
import { DASHBOARD_HTML } from '../dashboard-page.js';
import type { Caller } from '../keys.js';
import { openApiDocument } from '../openapi.js';
import { Overview } from '../overview.js';
import { registerRoutes } from '../register.js';

export interface ServiceOptions {
  memory: AgentMemory;
  version: string;
  /** What /healthz answers (default: the router's view of each provider, sampled with the dashboard's overview). */
  health?: (() => { state: string } | undefined) | undefined;
  /** How often the dashboard's overview is sampled (default 2 s). */
  overviewIntervalMs?: number | undefined;
}

export const service: FastifyPluginAsync<ServiceOptions> = async (app, options) => {
  // What the dashboard shows, sampled in the background.
  const overview = new Overview(options.memory, options.overviewIntervalMs);
  await overview.start();
  app.addHook('onClose', async () => overview.stop());
  const document = openApiDocument(options.version);
  registerRoutes(app, {
    dashboard: async (_request, reply) =>
      reply
        .type('text/html; charset=utf-8')
        .header(
          'content-security-policy',
          "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self' data:",
        )
        .send(DASHBOARD_HTML),
    overview: async (request) => ({ tenant: (request.caller as Caller).tenant, ...overview.snapshot() }),
    healthz: async () => options.health?.() ?? overview.health(),
    metrics: async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()),
    // The servers entry is where this request reached the API (its Host was checked against server.allowedHosts).
    openapi: async (request) => ({ ...document, servers: [{ url: `${request.protocol}://${request.host}` }] }),
  });
};
