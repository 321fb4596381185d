import { z } from 'zod';
import { MEMORY_TYPES } from '../core/enums.js';
import { EXPORT_FORMATS, MESSAGE_ROLES } from '../memory/index.js';
import {
  atomSchema,
  atomSearchOptionsSchema,
  messageInputSchema,
  recallFilterSchema,
  rememberInputSchema,
  sessionInputSchema,
} from '../memory/input-schemas.js';

/**
 * What the API answers, as JSON (times are ISO strings). Requests are the
 * library's own input schemas (memory/schemas.ts); these describe responses,
 * and the OpenAPI document is generated from both.
 */
const time = z.iso.datetime({ offset: true });
const json = z.unknown();
const object = z.record(z.string(), z.unknown());

export const sessionOut = z.object({
  id: z.uuid(),
  agentId: z.string().nullable(),
  userId: z.string().nullable(),
  title: z.string().nullable(),
  metadata: object,
  startedAt: time,
  endedAt: time.nullable(),
  externalId: z.string().nullable(),
});

export const messageOut = z.object({
  id: z.uuid(),
  sessionId: z.uuid(),
  role: z.enum(MESSAGE_ROLES),
  content: z.union([z.string(), z.array(object)]),
  metadata: object,
  createdAt: time,
  seq: z.number().int().min(0),
  name: z.string().optional(),
  toolCalls: z.array(z.object({ id: z.string(), name: z.string(), arguments: json })).optional(),
  toolCallId: z.string().optional(),
  externalId: z.string().optional(),
  extra: object.optional(),
});

export const memoryOut = z.object({
  id: z.uuid(),
  type: z.enum(MEMORY_TYPES),
  content: json,
  metadata: object,
  sessionId: z.uuid().nullable(),
  userId: z.string().nullable(),
  importance: z.number(),
  createdAt: time,
  expiresAt: time.nullable(),
  validTo: time.nullable(),
  supersedes: z.uuid().nullable(),
  supersededBy: z.uuid().nullable(),
  duplicateOf: z.uuid().nullable(),
  rank: z.number().optional(),
});

export const atomOut = z.looseObject({ id: z.uuid(), atomId: z.string(), atomType: z.string(), title: z.string(), createdAt: time });

export const settingOut = z.object({
  category: z.string(),
  key: z.string(),
  value: json,
  description: z.string().nullable(),
  updatedAt: time,
});

export const problem = z.looseObject({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string(),
  code: z.string(),
});

const list = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item) });

interface Route {
  method: 'get' | 'post' | 'put' | 'delete';
  path: string;
  summary: string;
  scope: 'read' | 'write' | 'admin' | 'none';
  body?: z.ZodType;
  query?: z.ZodType;
  ok: { status: number; schema?: z.ZodType; contentType?: string };
  /** Another success status with the same body, and what it means. */
  also?: { status: number; summary: string };
}

/** Every route of the API: the OpenAPI document is this list, and the test checks each answer against it. */
export const ROUTES: Route[] = [
  {
    method: 'post',
    path: '/v1/sessions',
    summary: 'create a session (or return it)',
    scope: 'write',
    body: sessionInputSchema,
    ok: { status: 201, schema: sessionOut },
  },
  {
    method: 'get',
    path: '/v1/sessions',
    summary: 'list sessions, newest first',
    scope: 'read',
    ok: { status: 200, schema: list(sessionOut) },
  },
  { method: 'get', path: '/v1/sessions/{id}', summary: 'one session', scope: 'read', ok: { status: 200, schema: sessionOut } },
  { method: 'delete', path: '/v1/sessions/{id}', summary: 'delete a session and erase its messages', scope: 'write', ok: { status: 204 } },
  {
    method: 'post',
    path: '/v1/sessions/{id}/messages',
    summary: 'append messages (one, or `{ messages: [...] }`)',
    scope: 'write',
    body: z.union([messageInputSchema, z.object({ messages: z.array(messageInputSchema) })]),
    ok: {
      status: 201,
      schema: z.object({ items: z.array(messageOut).optional(), inserted: z.number().optional(), existing: z.number().optional() }),
    },
  },
  {
    method: 'get',
    path: '/v1/sessions/{id}/messages',
    summary: 'a transcript (newest `limit`, oldest first)',
    scope: 'read',
    ok: { status: 200, schema: list(messageOut) },
  },
  {
    method: 'get',
    path: '/v1/sessions/{id}/export',
    summary: `a transcript as ${EXPORT_FORMATS.join(', ')}`,
    scope: 'read',
    ok: { status: 200, schema: json },
  },
  {
    method: 'post',
    path: '/v1/memories',
    summary: 'remember a typed memory',
    scope: 'write',
    body: rememberInputSchema,
    ok: { status: 201, schema: memoryOut },
    also: { status: 200, summary: 'the same fact was already remembered: the existing memory, nothing stored' },
  },
  {
    method: 'post',
    path: '/v1/memories/search',
    summary: 'recall memories by filters and text',
    scope: 'read',
    body: recallFilterSchema,
    ok: { status: 200, schema: list(memoryOut) },
  },
  { method: 'get', path: '/v1/memories/{id}', summary: 'one memory', scope: 'read', ok: { status: 200, schema: memoryOut } },
  { method: 'delete', path: '/v1/memories/{id}', summary: 'forget a memory', scope: 'write', ok: { status: 204 } },
  {
    method: 'post',
    path: '/v1/atoms',
    summary: 'import knowledge atoms (upsert by atomId)',
    scope: 'write',
    body: z.object({ atoms: z.array(atomSchema) }),
    ok: { status: 200, schema: z.object({ inserted: z.number(), updated: z.number(), unchanged: z.number() }) },
  },
  {
    method: 'post',
    path: '/v1/atoms/search',
    summary: 'search knowledge atoms: text, vector or hybrid',
    scope: 'read',
    body: z.object({ query: z.string() }).extend(atomSearchOptionsSchema.shape),
    ok: {
      status: 200,
      schema: z.object({
        mode: z.string(),
        vectorMethod: z.string().nullable(),
        results: z.array(z.looseObject({ atom: atomOut, score: z.number() })),
      }),
    },
  },
  { method: 'get', path: '/v1/atoms/{id}', summary: 'one atom (by atomId or id)', scope: 'read', ok: { status: 200, schema: atomOut } },
  { method: 'get', path: '/v1/settings', summary: 'every setting', scope: 'read', ok: { status: 200, schema: list(settingOut) } },
  { method: 'get', path: '/v1/settings/{category}/{key}', summary: 'one setting', scope: 'read', ok: { status: 200, schema: settingOut } },
  {
    method: 'put',
    path: '/v1/settings/{category}/{key}',
    summary: 'set a setting',
    scope: 'write',
    body: z.object({ value: json, description: z.string().optional() }),
    ok: { status: 200, schema: settingOut },
  },
  {
    method: 'post',
    path: '/mcp',
    summary: 'MCP over Streamable HTTP (JSON-RPC; stateless), tools as the key’s tenant',
    scope: 'write',
    body: object,
    ok: { status: 200, schema: object },
  },
  {
    method: 'get',
    path: '/v1/admin/overview',
    summary: 'providers, replication lag over time, SLA and recent router events (the dashboard)',
    scope: 'admin',
    ok: {
      status: 200,
      schema: z.looseObject({ tenant: z.string(), providers: z.array(object), lag: z.array(object), sla: object, events: z.array(object) }),
    },
  },
  {
    method: 'get',
    path: '/',
    summary: 'the dashboard page (asks for an admin key)',
    scope: 'none',
    ok: { status: 200, contentType: 'text/html' },
  },
  {
    method: 'get',
    path: '/healthz',
    summary: 'liveness and provider health',
    scope: 'none',
    ok: { status: 200, schema: z.looseObject({ state: z.string() }) },
  },
  { method: 'get', path: '/metrics', summary: 'Prometheus metrics', scope: 'none', ok: { status: 200, contentType: 'text/plain' } },
  { method: 'get', path: '/v1/openapi.json', summary: 'this document', scope: 'none', ok: { status: 200, schema: object } },
];

const jsonSchema = (schema: z.ZodType, io: 'input' | 'output') => {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
};

/** OpenAPI 3.1 (JSON Schema 2020-12): requests from the library's schemas, responses from the ones above. */
export function openApiDocument(version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const problemResponse = {
    description: 'a problem (RFC 9457)',
    content: { 'application/problem+json': { schema: jsonSchema(problem, 'output') } },
  };
  for (const route of ROUTES) {
    const params = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => ({
      name: m[1],
      in: 'path',
      required: true,
      schema: { type: 'string' },
    }));
    const body = route.ok.schema
      ? { content: { 'application/json': { schema: jsonSchema(route.ok.schema, 'output') } } }
      : route.ok.contentType
        ? { content: { [route.ok.contentType]: { schema: { type: 'string' } } } }
        : {};
    const operation: Record<string, unknown> = {
      summary: route.summary,
      ...(params.length ? { parameters: params } : {}),
      ...(route.scope === 'none' ? { security: [] } : { 'x-agentmem-scope': route.scope }),
      responses: {
        [route.ok.status]: { description: route.summary, ...body },
        ...(route.also ? { [route.also.status]: { description: route.also.summary, ...body } } : {}),
        default: problemResponse,
      },
    };
    if (route.body)
      operation.requestBody = { required: true, content: { 'application/json': { schema: jsonSchema(route.body, 'input') } } };
    paths[route.path] = { ...paths[route.path], [route.method]: operation };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'agentmem', version, description: 'Durable memory for AI agents. Every request runs as its API key’s tenant.' },
    components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'an agentmem API key (amk_…)' } } },
    security: [{ apiKey: [] }],
    paths,
  };
}
