/**
 * The HTTP API: a shell over the library, as Fastify plugins over one route
 * table (routes.ts). Every request with a key runs as that key's tenant (the
 * store's tenant setting, which row-level security enforces in the database
 * too); answers are the library's objects as JSON; every error is
 * application/problem+json with the library's stable code.
 */
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import type { AgentMemory } from '../memory/index.js';
import { logger } from '../observability/logger.js';
import type { ApiKeys, Caller } from './keys.js';
import { access, sendProblem } from './plugins/access.js';
import { mcpHttp } from './plugins/mcp-http.js';
import { memoryApi } from './plugins/memory-api.js';
import { service } from './plugins/service.js';
import type { ServerConfig } from './plugins/types.js';
import { problem, problemOf } from './problems.js';
import { fastifyPath, ROUTE_LIST } from './routes.js';

export type { ServerConfig } from './plugins/types.js';

export interface ServerOptions {
  memory: AgentMemory;
  keys: ApiKeys;
  config: ServerConfig;
  version: string;
  /** What /healthz answers (default: the router's view of each provider, sampled with the dashboard's overview). */
  health?: () => { state: string } | undefined;
  /** TLS material (PEM), when the server speaks HTTPS itself. */
  tls?: { cert: Buffer; key: Buffer };
  /** How often the dashboard's overview is sampled (default 2 s). */
  overviewIntervalMs?: number;
}

export async function buildServer(options: ServerOptions): Promise<FastifyInstance> {
  const { config } = options;
  // Typed as the plain HTTP instance: the routes do not care whether TLS is on.
  const app = Fastify({
    bodyLimit: config.bodyLimitBytes,
    requestTimeout: config.requestTimeoutMs,
    trustProxy: config.trustProxy,
    logger: false,
    ...(options.tls ? { https: options.tls } : {}),
  } as never) as unknown as FastifyInstance;

  app.setErrorHandler((error, request, reply) => {
    const p = problemOf(error);
    // The client hears only "internal error"; the operator's log says what (redacted, like every log line).
    if (p.status >= 500 && p.code === 'INTERNAL')
      logger().error({ route: request.routeOptions.url, err: (error as Error).message }, 'request failed');
    if (p.status === 401) reply.header('www-authenticate', 'Bearer');
    return sendProblem(reply, p);
  });
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, problem('NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`)),
  );

  // Each tenant's store, made once (it keeps its own caches: settings, vector search capabilities).
  const stores = new Map<string, AgentMemory>();
  const store = (request: FastifyRequest): AgentMemory => {
    const tenant = (request.caller as Caller).tenant;
    let found = stores.get(tenant);
    if (!found) {
      if (stores.size > 1000) stores.clear();
      found = options.memory.forTenant(tenant);
      stores.set(tenant, found);
    }
    return found;
  };

  await app.register(access, { config, keys: options.keys });
  await app.register(service, {
    memory: options.memory,
    version: options.version,
    health: options.health,
    overviewIntervalMs: options.overviewIntervalMs,
  });
  await app.register(memoryApi, { store });
  await app.register(mcpHttp, { store });

  // Every route of the table has its handler: one without would answer 404 while the document lists it.
  const missing = ROUTE_LIST.filter((r) => !app.hasRoute({ method: r.method.toUpperCase() as never, url: fastifyPath(r.path) }));
  if (missing.length) throw new Error(`routes without a handler: ${missing.map((r) => r.name).join(', ')}`);
  return app;
}
