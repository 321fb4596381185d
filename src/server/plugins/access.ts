/**
 * Who may call: the address allow list, the API key and its scope (from the
 * route table; a route missing from it needs an admin key), and each key's
 * rate limit. Its hooks apply to every route of the server, so it is not
 * encapsulated (fastify-plugin).
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import cors from '@fastify/cors';
import rateLimit from '@fastify/rate-limit';
import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { ValidationError } from '../../errors/index.js';
import { type ApiKeys, allows, type Caller, type KeyScope } from '../keys.js';
import { problem } from '../problems.js';
import { ROUTES, type Route } from '../routes.js';
import type { ServerConfig } from './types.js';

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

export const sendProblem = (reply: FastifyReply, p: ReturnType<typeof problem>) =>
  reply.status(p.status).type('application/problem+json').send(p);

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '::1'];

/** The host names the server answers to: the configured ones; else the loopback names when bound to loopback; else any (undefined). */
export function answeredHosts(config: ServerConfig): Set<string> | undefined {
  if (config.allowedHosts.length) return new Set(config.allowedHosts.map((h) => h.toLowerCase()));
  const bound = config.host.replace(/^\[|\]$/g, '').toLowerCase();
  return LOOPBACK_NAMES.includes(bound) || bound.startsWith('127.') ? new Set(LOOPBACK_NAMES) : undefined;
}

/** The host name of a Host header or a URL's authority: no port, no brackets, lower case. */
function hostName(authority: string): string {
  const trimmed = authority.trim().toLowerCase();
  if (trimmed.startsWith('[')) return trimmed.slice(1, trimmed.indexOf(']'));
  const colon = trimmed.lastIndexOf(':');
  return colon > 0 && trimmed.indexOf(':') === colon ? trimmed.slice(0, colon) : trimmed;
}

export const access = fp<{ config: ServerConfig; keys: ApiKeys }>(async (app, { config, keys }) => {
  // DNS rebinding: a page of another site that resolves its name to this address sends its own Host and Origin.
  const hosts = answeredHosts(config);
  const origins = new Set(config.cors.origins);
  app.addHook('onRequest', async (request, reply) => {
    const host = request.headers.host;
    if (hosts && (typeof host !== 'string' || !hosts.has(hostName(host))))
      return sendProblem(reply, problem('FORBIDDEN', 'this Host is not one the server answers to (server.allowedHosts)'));
    const origin = request.headers.origin;
    if (typeof origin === 'string' && !origins.has(origin)) {
      let name: string | undefined;
      try {
        name = new URL(origin).hostname.replace(/^\[|\]$/g, '');
      } catch {
        name = undefined;
      }
      if (name === undefined || (hosts ? !hosts.has(name) : typeof host !== 'string' || hostName(host) !== name))
        return sendProblem(
          reply,
          problem('FORBIDDEN', 'requests from this Origin are not allowed (server.cors.origins, server.allowedHosts)'),
        );
    }
  });
  const list = allowList(config.allowIps);
  if (list) {
    app.addHook('onRequest', async (request, reply) => {
      if (!allowed(list, request.ip)) return sendProblem(reply, problem('FORBIDDEN', 'this address may not use the API (server.allowIps)'));
    });
  }
  if (config.cors.origins.length) await app.register(cors, { origin: config.cors.origins });

  // Who is calling, for every route that needs a scope; then the caller's rate limit.
  app.addHook('preHandler', async (request, reply) => {
    if (request.routeOptions.url === undefined) return; // no such route: the 404 handler answers
    const name = request.routeOptions.config.routeName;
    // Fail closed: a route missing from the table needs an admin key.
    const need = name ? (ROUTES[name] as Route).scope : 'admin';
    if (need === 'none') return;
    const presented = bearer(request);
    const caller = presented ? await keys.verify(presented) : undefined;
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
});
