import { z } from 'zod';
import { timestamp } from '../memory/validation.js';
import { PROBLEM_STATUS } from './problems.js';
import { ROUTE_LIST, type Route } from './routes.js';
import {
  atomOut,
  contextOut,
  extractionOut,
  memoryHitOut,
  memoryOut,
  messageHitOut,
  messageOut,
  problem,
  sessionOut,
  settingOut,
  summaryOut,
  workingMemoryOut,
} from './shapes.js';

/** Where the document says the API is when no request names it (the default of `agentmem serve`). */
export const DEFAULT_SERVER_URL = 'http://127.0.0.1:8787';

/**
 * Shapes that recur in answers, by the names a generated client gives them;
 * each route's own request and response are named after the route. Request
 * bodies are not shared schemas but `requestBodies`, each whole: a generator
 * (openapi-typescript) treats a field with a default as optional only there.
 */
const RESPONSE_NAMES = new Map<z.ZodType, string>([
  [sessionOut, 'Session'],
  [messageOut, 'Message'],
  [memoryOut, 'Memory'],
  [memoryHitOut, 'MemoryHit'],
  [messageHitOut, 'MessageHit'],
  [atomOut, 'Atom'],
  [settingOut, 'Setting'],
  [contextOut, 'Context'],
  [workingMemoryOut, 'WorkingMemory'],
  [extractionOut, 'Extraction'],
  [summaryOut, 'Summary'],
  [problem, 'Problem'],
]);

/** The name of each error status's response, and when every route of a kind answers it. */
const ERROR_RESPONSES: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  409: 'Conflict',
  413: 'TooLarge',
  429: 'RateLimited',
  500: 'Internal',
  501: 'NotImplemented',
  502: 'BadGateway',
  503: 'Unavailable',
};

const TAGS: { name: string; description: string; paths: RegExp }[] = [
  { name: 'sessions', description: 'conversations, their messages and transcripts', paths: /^\/v1\/sessions/ },
  {
    name: 'memories',
    description: 'typed memories: remember, recall by filters, forget; prompt-ready context',
    paths: /^\/v1\/(memories|context)/,
  },
  { name: 'recall', description: 'memories and messages by meaning, within a scope', paths: /^\/v1\/recall/ },
  { name: 'working memory', description: "a user's or a session's working memory", paths: /^\/v1\/working-memory/ },
  { name: 'knowledge', description: 'knowledge atoms and their search', paths: /^\/v1\/atoms/ },
  { name: 'settings', description: 'the tenant’s settings', paths: /^\/v1\/settings/ },
  { name: 'mcp', description: 'the MCP server over Streamable HTTP', paths: /^\/mcp$/ },
  { name: 'operations', description: 'health, metrics, the dashboard and this document', paths: /./ },
];

const SCOPE_TEXT: Record<Route['scope'], string> = {
  none: 'Needs no API key.',
  read: 'Needs an API key of any scope (read, write or admin).',
  write: 'Needs an API key whose scope is write or admin.',
  admin: 'Needs an API key whose scope is admin.',
};

/**
 * A request time is the library's string form (a JSON body or a query cannot
 * carry its Date): the schema keeps zod's own pattern for it, so a client
 * validates what the server accepts, no more and no less.
 */
function describeTimes(ctx: { zodSchema: unknown; jsonSchema: Record<string, unknown> }) {
  if (ctx.zodSchema !== timestamp) return;
  const branches = (ctx.jsonSchema.anyOf ?? []) as Record<string, unknown>[];
  const text = branches.find((branch) => branch.type === 'string');
  if (!text) throw new Error('timestamp: no string form to describe');
  for (const key of Object.keys(ctx.jsonSchema)) delete ctx.jsonSchema[key];
  Object.assign(ctx.jsonSchema, text, {
    description: 'an ISO 8601 time with its offset (`2026-05-01T09:30:00Z`, `2026-05-01T11:30:00.250+02:00`)',
  });
}

/** JSON Schemas of a set of zod schemas, by name, their references to each other as `#/components/schemas/…`. */
function componentSchemas(named: Map<z.ZodType, string>, io: 'input' | 'output'): Record<string, Record<string, unknown>> {
  const registry = z.registry<{ id: string }>();
  for (const [schema, id] of named) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, {
    io,
    unrepresentable: 'any',
    uri: (id) => `#/components/schemas/${id}`,
    override: describeTimes as never,
  });
  const out: Record<string, Record<string, unknown>> = {};
  for (const [id, schema] of Object.entries(schemas)) {
    const { $schema: _schema, $id: _id, ...rest } = schema as Record<string, unknown>;
    out[id] = rest;
  }
  return out;
}

const ref = (kind: 'schemas' | 'responses' | 'requestBodies', name: string) => ({ $ref: `#/components/${kind}/${name}` });
const pascal = (name: string) => name[0]!.toUpperCase() + name.slice(1);
const pathParams = (route: Route) => [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string);

/** The error statuses a route answers: those of its kind (keyed, with input, with an id in its path), and its own. */
function errorStatuses(route: Route): number[] {
  const statuses = new Set([403]); // Host, Origin or address refused
  if (route.scope !== 'none') for (const status of [401, 429, 503]) statuses.add(status); // key, rate limit, providers
  if (route.body || route.query || pathParams(route).length) statuses.add(400);
  if (route.body) statuses.add(413);
  if (pathParams(route).length) statuses.add(404);
  for (const status of route.errors ?? []) statuses.add(status);
  return [...statuses].sort((a, b) => a - b);
}

function errorResponses(): Record<string, unknown> {
  const codes = new Map<number, string[]>();
  for (const [code, status] of Object.entries(PROBLEM_STATUS)) codes.set(status as number, [...(codes.get(status as number) ?? []), code]);
  const responses: Record<string, unknown> = {};
  for (const [status, name] of Object.entries(ERROR_RESPONSES)) {
    const listed = codes.get(Number(status)) ?? [];
    const which = Number(status) === 500 ? 'INTERNAL (anything outside the error model)' : listed.join(', ');
    responses[name] = {
      description: `a problem (RFC 9457) whose code is ${which}`,
      ...(Number(status) === 401 ? { headers: { 'WWW-Authenticate': { schema: { type: 'string', const: 'Bearer' } } } } : {}),
      ...(Number(status) === 429
        ? { headers: { 'Retry-After': { description: 'seconds until the key may call again', schema: { type: 'integer' } } } }
        : {}),
      content: { 'application/problem+json': { schema: ref('schemas', 'Problem') } },
    };
  }
  return responses;
}

type QuerySchema = { properties: Record<string, Record<string, unknown>>; required?: string[] };

/** The query parameters of a route, from the JSON Schema of its query schema (each the value the handler reads). */
const queryParameters = (schema: QuerySchema) =>
  Object.entries(schema.properties).map(([param, { description, ...value }]) => ({
    name: param,
    in: 'query',
    required: schema.required?.includes(param) ?? false,
    ...(description ? { description } : {}),
    schema: value,
  }));

const IDEMPOTENCY_KEY = {
  name: 'Idempotency-Key',
  in: 'header',
  required: false,
  description: 'the same key on a retry (per tenant and route) names the same record: it is stored once',
  schema: { type: 'string', minLength: 1, maxLength: 200 },
};

/** OpenAPI 3.1 (JSON Schema 2020-12): requests from the library's schemas, responses from shapes.ts, one operation per route of the table. */
export function openApiDocument(version: string, serverUrl = DEFAULT_SERVER_URL): Record<string, unknown> {
  const requests = new Map<z.ZodType, string>();
  const responses = new Map(RESPONSE_NAMES);
  const named = (map: Map<z.ZodType, string>, schema: z.ZodType, name: string) => {
    if (!map.has(schema)) map.set(schema, name);
    return map.get(schema) as string;
  };
  const names = ROUTE_LIST.map((route) => ({
    route,
    body: route.body && named(requests, route.body, `${pascal(route.name)}Request`),
    query: route.query && named(requests, route.query, `${pascal(route.name)}Query`),
    ok: route.ok.schema && named(responses, route.ok.schema, `${pascal(route.name)}Response`),
  }));
  const requestSchemas = componentSchemas(requests, 'input');
  const schemas = componentSchemas(responses, 'output');
  const requestBodies = Object.fromEntries(
    names.flatMap(({ body }) =>
      body ? [[body, { required: true, content: { 'application/json': { schema: requestSchemas[body] } } }]] : [],
    ),
  );

  const paths: Record<string, Record<string, unknown>> = {};
  for (const { route, body, query, ok } of names) {
    const parameters = [
      ...pathParams(route).map((param) => ({ name: param, in: 'path', required: true, schema: { type: 'string' } })),
      ...(query ? queryParameters(requestSchemas[query] as QuerySchema) : []),
      ...(route.idempotent ? [IDEMPOTENCY_KEY] : []),
    ];
    const content = ok
      ? { content: { 'application/json': { schema: ref('schemas', ok) } } }
      : route.ok.contentType
        ? { content: { [route.ok.contentType]: { schema: { type: 'string' } } } }
        : {};
    paths[route.path] = {
      ...paths[route.path],
      [route.method]: {
        operationId: route.name,
        tags: [(TAGS.find((t) => t.paths.test(route.path)) as (typeof TAGS)[number]).name],
        summary: route.summary,
        description: `${route.summary[0]!.toUpperCase()}${route.summary.slice(1)}. ${SCOPE_TEXT[route.scope]}`,
        ...(parameters.length ? { parameters } : {}),
        ...(route.scope === 'none' ? { security: [] } : { 'x-agentmem-scope': route.scope }),
        ...(body ? { requestBody: ref('requestBodies', body) } : {}),
        responses: {
          [route.ok.status]: { description: route.summary, ...content },
          ...(route.also ? { [route.also.status]: { description: route.also.summary, ...content } } : {}),
          ...Object.fromEntries(errorStatuses(route).map((s) => [s, ref('responses', ERROR_RESPONSES[s] as string)])),
          default: ref('responses', 'Internal'),
        },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'agentmem',
      version,
      description: 'Durable memory for AI agents. Every request runs as its API key’s tenant.',
      license: { name: 'MIT', identifier: 'MIT' },
    },
    servers: [{ url: serverUrl }],
    tags: TAGS.map(({ name, description }) => ({ name, description })),
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'an agentmem API key (amk_…) as a bearer token' },
        apiKeyHeader: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'the same key in its own header' },
      },
      schemas,
      requestBodies,
      responses: errorResponses(),
    },
    security: [{ bearer: [] }, { apiKeyHeader: [] }],
    paths,
  };
}
