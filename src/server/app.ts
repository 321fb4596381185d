import { BlockList, isIPv4, isIPv6 } from 'node:net';
import cors from '@fastify/cors';
import rateLimit from '@fastify/rate-limit';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { AgentmemConfig } from '../config/index.js';
import { idForKey } from '../core/ids.js';
import { NotFoundError, ValidationError } from '../errors/index.js';
import type { AgentMemory, ExportFormat, MessageInput } from '../memory/index.js';
import { logger } from '../observability/logger.js';
import { registry } from '../observability/metrics.js';
import { DASHBOARD_HTML } from './dashboard-page.js';
import { type ApiKeys, allows, type Caller, KEYS_CATEGORY, type KeyScope } from './keys.js';
import { createMcpServer } from './mcp.js';
import { openApiDocument, ROUTES } from './openapi.js';
import { Overview } from './overview.js';
import { problem, problemOf } from './problems.js';

export type ServerConfig = AgentmemConfig['server'];

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

declare module 'fastify' {
  interface FastifyRequest {
    caller?: Caller;
  }
}

/** A CIDR list as a BlockList (node:net), used as an allow list. */
function allowList(cidrs: string[]): BlockList | undefined {
  if (!cidrs.length) return undefined;
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [address = '', bits] = cidr.split('/');
    const type = isIPv6(address) ? 'ipv6' : 'ipv4';
    if (!isIPv4(address) && !isIPv6(address)) throw new ValidationError(`server.allowIps: ${cidr} is not an IP address or CIDR`);
    if (bits === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(bits), type);
  }
  return list;
}

const allowed = (list: BlockList, ip: string) => {
  const v4mapped = ip.startsWith('::ffff:') && isIPv4(ip.slice(7)) ? ip.slice(7) : undefined;
  return v4mapped ? list.check(v4mapped, 'ipv4') || list.check(ip, 'ipv6') : list.check(ip, isIPv6(ip) ? 'ipv6' : 'ipv4');
};

function bearer(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header === 'string' && header.toLowerCase().startsWith('bearer ')) return header.slice(7).trim();
  const apiKey = request.headers['x-api-key'];
  return typeof apiKey === 'string' ? apiKey.trim() : undefined;
}

/**
 * The HTTP API: a shell over the library. Every request with a key runs as
 * that key's tenant (the store's tenant setting, which row-level security
 * enforces in the database too); answers are the library's objects as JSON;
 * every error is application/problem+json with the library's stable code.
 */
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

  const sendProblem = (reply: FastifyReply, p: ReturnType<typeof problem>) =>
    reply.status(p.status).type('application/problem+json').send(p);
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

  const list = allowList(config.allowIps);
  if (list) {
    app.addHook('onRequest', async (request, reply) => {
      if (!allowed(list, request.ip)) return sendProblem(reply, problem('FORBIDDEN', 'this address may not use the API (server.allowIps)'));
    });
  }
  if (config.cors.origins.length) await app.register(cors, { origin: config.cors.origins });

  // Who is calling, for every route that needs a scope; then the caller's rate limit.
  const scopes = new Map(ROUTES.map((r) => [`${r.method.toUpperCase()} ${r.path.replace(/\{(\w+)\}/g, ':$1')}`, r.scope]));
  app.addHook('preHandler', async (request, reply) => {
    if (request.routeOptions.url === undefined) return; // no such route: the 404 handler answers
    // Fail closed: a route missing from ROUTES needs an admin key.
    const need = scopes.get(`${request.method} ${request.routeOptions.url}`) ?? 'admin';
    if (need === 'none') return;
    const presented = bearer(request);
    const caller = presented ? await options.keys.verify(presented) : undefined;
    if (!caller) {
      reply.header('www-authenticate', 'Bearer');
      return sendProblem(
        reply,
        problem('UNAUTHORIZED', presented ? 'the API key is unknown or revoked' : 'an API key is required (Authorization: Bearer amk_…)'),
      );
    }
    if (!allows(caller.scope, need as KeyScope))
      return sendProblem(reply, problem('FORBIDDEN', `this key's scope is ${caller.scope}; ${need} is needed`));
    request.caller = caller;
  });
  await app.register(rateLimit, {
    global: true,
    hook: 'preHandler',
    max: config.rateLimit.max,
    timeWindow: config.rateLimit.windowMs,
    keyGenerator: (request) => request.caller?.keyId ?? request.ip,
    allowList: (request) => !request.caller,
    errorResponseBuilder: (_request, context) => ({
      ...problem(
        'RATE_LIMITED',
        `more than ${context.max} requests in ${Math.round(context.ttl / 1000)} s for this key; retry after the Retry-After seconds`,
      ),
      statusCode: 429,
    }),
  });

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
  /** The id an Idempotency-Key stands for on this route: a retried request names the same record. */
  const idempotentId = (request: FastifyRequest, what: string): string | undefined => {
    const key = request.headers['idempotency-key'];
    if (typeof key !== 'string' || !key) return undefined;
    if (key.length > 200) throw new ValidationError('Idempotency-Key is longer than 200 characters');
    return idForKey((request.caller as Caller).tenant, `http:${what}`, key);
  };
  const body = (request: FastifyRequest): Record<string, unknown> => {
    const b = request.body;
    if (typeof b !== 'object' || b === null || Array.isArray(b)) throw new ValidationError('the request body must be a JSON object');
    return b as Record<string, unknown>;
  };
  const query = (request: FastifyRequest) => request.query as Record<string, string | undefined>;
  const param = (request: FastifyRequest, name: string) => (request.params as Record<string, string>)[name] as string;
  /** The record (or a delete's `true`), else 404 naming what was asked for. */
  const orNotFound = <T>(value: T | null | false, what: string, request: FastifyRequest): T => {
    if (value === null || value === false) throw new NotFoundError(`no ${what} ${param(request, 'id')}`);
    return value;
  };
  const int = (value: string | undefined) => (value === undefined ? undefined : /^\d+$/.test(value) ? Number(value) : Number.NaN);

  // The dashboard: a static page (it asks for an admin key), and what it shows, sampled in the background.
  const overview = new Overview(options.memory, options.overviewIntervalMs);
  await overview.start();
  app.addHook('onClose', async () => overview.stop());
  app.get('/', async (_request, reply) =>
    reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self' data:")
      .send(DASHBOARD_HTML),
  );
  app.get('/v1/admin/overview', async (request) => ({ tenant: (request.caller as Caller).tenant, ...overview.snapshot() }));

  app.get('/healthz', async () => options.health?.() ?? overview.health());
  app.get('/metrics', async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()));
  const document = openApiDocument(options.version);
  app.get('/v1/openapi.json', async () => document);

  app.post('/v1/sessions', async (request, reply) => {
    const input = body(request);
    const id = input.id ?? (input.externalId === undefined ? idempotentId(request, 'session') : undefined);
    return reply
      .status(201)
      .send(await store(request).sessions.create({ ...(input as Record<string, unknown>), ...(id ? { id: id as string } : {}) } as never));
  });
  app.get('/v1/sessions', async (request) => {
    const q = query(request);
    const filter = {
      ...(q.agentId ? { agentId: q.agentId } : {}),
      ...(q.userId ? { userId: q.userId } : {}),
      ...(q.since ? { since: q.since } : {}),
      ...(q.until ? { until: q.until } : {}),
      ...(q.active ? { active: q.active === 'true' } : {}),
      ...(q.limit ? { limit: int(q.limit) } : {}),
    };
    return { items: await store(request).sessions.list(filter) };
  });
  app.get('/v1/sessions/:id', async (request) => orNotFound(await store(request).sessions.get(param(request, 'id')), 'session', request));
  app.delete('/v1/sessions/:id', async (request, reply) => {
    orNotFound(await store(request).sessions.delete(param(request, 'id')), 'session', request);
    return reply.status(204).send();
  });
  app.post('/v1/sessions/:id/messages', async (request, reply) => {
    const input = body(request);
    const sessionId = param(request, 'id');
    if (Array.isArray(input.messages)) {
      const base = idempotentId(request, `messages:${sessionId}`);
      const messages = (input.messages as MessageInput[]).map((m, i) =>
        base && typeof m === 'object' && m && !m.id && !m.externalId ? { ...m, id: idForKey('', 'http-batch', `${base}:${i}`) } : m,
      );
      return reply.status(201).send(await store(request).sessions.addMessages(sessionId, messages));
    }
    const id = input.id ?? (input.externalId === undefined ? idempotentId(request, `message:${sessionId}`) : undefined);
    const message = await store(request).sessions.addMessage(sessionId, {
      ...(input as MessageInput),
      ...(id ? { id: id as string } : {}),
    });
    return reply.status(201).send({ items: [message] });
  });
  app.get('/v1/sessions/:id/messages', async (request) => {
    const q = query(request);
    const filter = {
      ...(q.limit ? { limit: int(q.limit) } : {}),
      ...(q.before ? { before: q.before } : {}),
      ...(q.role ? { role: q.role } : {}),
    };
    return { items: await store(request).sessions.getMessages(param(request, 'id'), filter as never) };
  });
  app.get('/v1/sessions/:id/export', async (request) => {
    return store(request).sessions.export(param(request, 'id'), (query(request).format ?? 'agentmem') as ExportFormat);
  });

  app.post('/v1/memories', async (request, reply) => {
    const input = body(request);
    const id = input.id ?? idempotentId(request, 'memory');
    const memories = store(request).memories;
    const stored = await memories.rememberOutcome({ ...(input as Record<string, unknown>), ...(id ? { id } : {}) } as never);
    // 200: the same fact was already remembered (the existing memory comes back); 201: stored.
    return reply.status(stored.duplicate ? 200 : 201).send(await memories.get(stored.id));
  });
  app.post('/v1/memories/search', async (request) => ({ items: await store(request).memories.recall(body(request)) }));
  app.get('/v1/memories/:id', async (request) => orNotFound(await store(request).memories.get(param(request, 'id')), 'memory', request));
  app.delete('/v1/memories/:id', async (request, reply) => {
    orNotFound(await store(request).memories.forget(param(request, 'id')), 'memory', request);
    return reply.status(204).send();
  });

  app.post('/v1/atoms', async (request) => {
    const input = body(request);
    if (!Array.isArray(input.atoms)) throw new ValidationError('atoms: expected an array of knowledge atoms');
    return store(request).atoms.upsert(input.atoms as never);
  });
  app.post('/v1/atoms/search', async (request) => {
    const { query: text, ...rest } = body(request);
    if (typeof text !== 'string') throw new ValidationError('query: expected a string');
    return store(request).atoms.search(text, rest);
  });
  app.get('/v1/atoms/:id', async (request) => orNotFound(await store(request).atoms.get(param(request, 'id')), 'atom', request));

  // MCP over Streamable HTTP, stateless: each request gets a server acting as the key's tenant.
  app.post('/mcp', async (request, reply) => {
    const server = createMcpServer(store(request));
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    reply.hijack();
    reply.raw.on('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(request.raw, reply.raw, request.body);
  });
  const noSessions = async (_request: FastifyRequest, reply: FastifyReply) =>
    reply
      .status(405)
      .header('allow', 'POST')
      .type('application/problem+json')
      .send({ ...problem('BAD_REQUEST', 'this MCP endpoint is stateless: POST only'), status: 405 });
  app.get('/mcp', noSessions);
  app.delete('/mcp', noSessions);

  // Settings, without the API keys' own records.
  const notKeys = (category: string) => {
    if (category === KEYS_CATEGORY) throw new NotFoundError(`no setting category ${category}`);
    return category;
  };
  app.get('/v1/settings', async (request) => ({
    items: (await store(request).settings.list()).filter((s) => s.category !== KEYS_CATEGORY),
  }));
  const oneSetting = async (request: FastifyRequest) => {
    const category = notKeys(param(request, 'category'));
    const key = param(request, 'key');
    const found = (await store(request).settings.list(category)).find((s) => s.key === key);
    if (!found) throw new NotFoundError(`no setting ${category}.${key}`);
    return found;
  };
  app.get('/v1/settings/:category/:key', oneSetting);
  app.put('/v1/settings/:category/:key', async (request) => {
    const input = body(request);
    if (!('value' in input)) throw new ValidationError('value: required');
    if (input.description !== undefined && typeof input.description !== 'string')
      throw new ValidationError('description: expected a string');
    await store(request).settings.set(
      notKeys(param(request, 'category')),
      param(request, 'key'),
      input.value,
      input.description as string | undefined,
    );
    return oneSetting(request);
  });
  return app;
}
