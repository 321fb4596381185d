import { z } from 'zod';
import { EXPORT_FORMATS } from '../memory/index.js';
import {
  atomSchema,
  atomSearchOptionsSchema,
  contextSchema,
  memorySearchSchema,
  messageInputSchema,
  messageSearchSchema,
  messagesFilterSchema,
  recallFilterSchema,
  rememberInputSchema,
  sessionFilterSchema,
  sessionInputSchema,
} from '../memory/input-schemas.js';
import { timestamp } from '../memory/validation.js';
import {
  atomOut,
  contextOut,
  extractionOut,
  json,
  list,
  memoryHitOut,
  memoryOut,
  messageHitOut,
  messageOut,
  object,
  recallOut,
  sessionOut,
  settingOut,
  summaryOut,
  workingMemoryOut,
} from './shapes.js';

const workingScope = z.union([z.object({ userId: z.string() }).strict(), z.object({ sessionId: z.string() }).strict()]);

export interface Route {
  method: 'get' | 'post' | 'put' | 'delete';
  path: string;
  summary: string;
  scope: 'read' | 'write' | 'admin' | 'none';
  body?: z.ZodType;
  /** The query parameters the handler reads, each typed (the handler parses the query with it). */
  query?: z.ZodObject;
  /** The handler reads an Idempotency-Key header: a retried request names the same record. */
  idempotent?: true;
  ok: { status: number; schema?: z.ZodType; contentType?: string };
  /** Another success status with the same body, and what it means. */
  also?: { status: number; summary: string };
  /** Error statuses this route answers beyond those every route of its kind does (see the OpenAPI document). */
  errors?: number[];
}

/**
 * Every route of the HTTP API, by name: the one place a path is written. The
 * server registers a handler for each (and refuses to start when one has
 * none), checks each caller's scope by it, the OpenAPI document is generated
 * from it, and the CLI's --server client calls routes by name.
 */
export const ROUTES = {
  createSession: {
    method: 'post',
    path: '/v1/sessions',
    summary: 'create a session (or return it)',
    scope: 'write',
    body: sessionInputSchema,
    idempotent: true,
    ok: { status: 201, schema: sessionOut },
    errors: [409],
  },
  listSessions: {
    method: 'get',
    path: '/v1/sessions',
    summary: 'list sessions, newest first',
    scope: 'read',
    query: sessionFilterSchema,
    ok: { status: 200, schema: list(sessionOut) },
  },
  getSession: { method: 'get', path: '/v1/sessions/{id}', summary: 'one session', scope: 'read', ok: { status: 200, schema: sessionOut } },
  deleteSession: {
    method: 'delete',
    path: '/v1/sessions/{id}',
    summary: 'delete a session and erase its messages',
    scope: 'write',
    ok: { status: 204 },
  },
  appendMessages: {
    method: 'post',
    path: '/v1/sessions/{id}/messages',
    summary: 'append messages (one, or `{ messages: [...] }`)',
    scope: 'write',
    body: z.union([messageInputSchema, z.object({ messages: z.array(messageInputSchema) })]),
    idempotent: true,
    errors: [409],
    ok: {
      status: 201,
      // One message: it, as stored. A batch: how many were new and how many were there already (a retry).
      schema: z.union([
        z.object({ items: z.array(messageOut) }).strict(),
        z.object({ inserted: z.number().int(), existing: z.number().int() }).strict(),
      ]),
    },
  },
  getMessages: {
    method: 'get',
    path: '/v1/sessions/{id}/messages',
    summary: 'a transcript (newest `limit`, oldest first)',
    scope: 'read',
    query: messagesFilterSchema,
    ok: { status: 200, schema: list(messageOut) },
  },
  exportSession: {
    method: 'get',
    path: '/v1/sessions/{id}/export',
    summary: `a transcript as ${EXPORT_FORMATS.join(', ')}`,
    scope: 'read',
    query: z
      .object({
        format: z.enum(EXPORT_FORMATS).default('agentmem').describe('the form of the transcript'),
        asOf: timestamp.optional().describe('the transcript as it was at this time (from the change history)'),
      })
      .strict(),
    ok: { status: 200, schema: json },
  },
  remember: {
    method: 'post',
    path: '/v1/memories',
    summary: 'remember a typed memory',
    scope: 'write',
    body: rememberInputSchema,
    idempotent: true,
    // 404: the memory it supersedes does not exist; 409: that one was already superseded; 502: the embedder failed (inline embedding).
    errors: [404, 409, 502],
    ok: { status: 201, schema: memoryOut },
    also: { status: 200, summary: 'the same fact was already remembered: the existing memory, nothing stored' },
  },
  recall: {
    method: 'post',
    path: '/v1/memories/search',
    summary: 'recall memories by filters and text',
    scope: 'read',
    body: recallFilterSchema,
    ok: { status: 200, schema: list(memoryOut) },
  },
  searchMemories: {
    method: 'post',
    path: '/v1/recall/memories',
    summary: 'recall memories by meaning (hybrid, text or vector) within a scope; each hit with why it matched',
    scope: 'read',
    body: z.object({ query: z.string() }).extend(memorySearchSchema.shape),
    // 409: the stored embeddings are another model's (re-embed); an embedder that fails degrades to full text.
    errors: [409],
    ok: { status: 200, schema: recallOut(memoryHitOut) },
  },
  searchMessages: {
    method: 'post',
    path: '/v1/recall/messages',
    summary: "find what was said, by meaning, across a scope's sessions; each hit with the turns around it",
    scope: 'read',
    body: z.object({ query: z.string() }).extend(messageSearchSchema.shape),
    errors: [409],
    ok: { status: 200, schema: recallOut(messageHitOut) },
  },
  context: {
    method: 'post',
    path: '/v1/context',
    summary: 'a prompt-ready block: cited memories and knowledge for the query, and the newest turns, within budgetTokens',
    scope: 'read',
    body: contextSchema,
    errors: [409],
    ok: { status: 200, schema: contextOut },
  },
  getWorkingMemory: {
    method: 'post',
    path: '/v1/working-memory/get',
    summary: "a user's or a session's working memory (its template before the first update)",
    scope: 'read',
    body: z.object({ scope: workingScope }).strict(),
    ok: { status: 200, schema: workingMemoryOut },
  },
  updateWorkingMemory: {
    method: 'post',
    path: '/v1/working-memory',
    summary:
      'merge a JSON patch into a working memory (null removes a key), or replace a Markdown one with a text; concurrent updates lose nothing',
    scope: 'write',
    body: z.object({ scope: workingScope, patch: z.union([z.string(), z.record(z.string(), z.unknown())]) }).strict(),
    errors: [409],
    ok: { status: 200, schema: workingMemoryOut },
  },
  extractSession: {
    method: 'post',
    path: '/v1/sessions/{id}/extract',
    summary: "turn the session's messages not yet extracted into memories with the configured model (501 without one)",
    scope: 'write',
    // 501: no model is configured (formation.model); 502: the model's output was refused, nothing stored.
    errors: [501, 502],
    ok: { status: 200, schema: extractionOut },
  },
  summarizeSession: {
    method: 'post',
    path: '/v1/sessions/{id}/summarize',
    summary: "summarise the session's older messages with the configured model (501 without one)",
    scope: 'write',
    // 501: no model is configured (formation.model); 502: the model's output was refused, nothing stored.
    errors: [501, 502],
    ok: { status: 200, schema: summaryOut },
  },
  getMemory: { method: 'get', path: '/v1/memories/{id}', summary: 'one memory', scope: 'read', ok: { status: 200, schema: memoryOut } },
  forget: { method: 'delete', path: '/v1/memories/{id}', summary: 'forget a memory', scope: 'write', ok: { status: 204 } },
  upsertAtoms: {
    method: 'post',
    path: '/v1/atoms',
    summary: 'import knowledge atoms (upsert by atomId)',
    scope: 'write',
    body: z.object({ atoms: z.array(atomSchema) }),
    ok: { status: 200, schema: z.object({ inserted: z.number(), updated: z.number(), unchanged: z.number() }) },
  },
  searchAtoms: {
    method: 'post',
    path: '/v1/atoms/search',
    summary: 'search knowledge atoms: text, vector or hybrid',
    scope: 'read',
    body: z.object({ query: z.string() }).extend(atomSearchOptionsSchema.shape),
    errors: [409, 502],
    ok: {
      status: 200,
      schema: z.object({
        mode: z.string(),
        vectorMethod: z.string().nullable(),
        results: z.array(z.looseObject({ atom: atomOut, score: z.number() })),
      }),
    },
  },
  getAtom: {
    method: 'get',
    path: '/v1/atoms/{id}',
    summary: 'one atom (by atomId or id)',
    scope: 'read',
    ok: { status: 200, schema: atomOut },
  },
  listSettings: {
    method: 'get',
    path: '/v1/settings',
    summary: 'every setting',
    scope: 'read',
    ok: { status: 200, schema: list(settingOut) },
  },
  getSetting: {
    method: 'get',
    path: '/v1/settings/{category}/{key}',
    summary: 'one setting',
    scope: 'read',
    ok: { status: 200, schema: settingOut },
  },
  putSetting: {
    method: 'put',
    path: '/v1/settings/{category}/{key}',
    summary: 'set a setting',
    scope: 'write',
    body: z.object({ value: json, description: z.string().optional() }),
    ok: { status: 200, schema: settingOut },
  },
  mcp: {
    method: 'post',
    path: '/mcp',
    summary: 'MCP over Streamable HTTP (JSON-RPC; stateless), tools as the key’s tenant',
    scope: 'write',
    body: object,
    ok: { status: 200, schema: object },
  },
  overview: {
    method: 'get',
    path: '/v1/admin/overview',
    summary: 'providers, replication lag over time, SLA and recent router events (the dashboard)',
    scope: 'admin',
    ok: {
      status: 200,
      schema: z.looseObject({ tenant: z.string(), providers: z.array(object), lag: z.array(object), sla: object, events: z.array(object) }),
    },
  },
  dashboard: {
    method: 'get',
    path: '/',
    summary: 'the dashboard page (asks for an admin key)',
    scope: 'none',
    ok: { status: 200, contentType: 'text/html' },
  },
  healthz: {
    method: 'get',
    path: '/healthz',
    summary: 'liveness and provider health',
    scope: 'none',
    ok: { status: 200, schema: z.looseObject({ state: z.string() }) },
  },
  metrics: {
    method: 'get',
    path: '/metrics',
    summary: 'Prometheus metrics',
    scope: 'none',
    ok: { status: 200, contentType: 'text/plain' },
  },
  openapi: { method: 'get', path: '/v1/openapi.json', summary: 'this document', scope: 'none', ok: { status: 200, schema: object } },
} satisfies Record<string, Route>;

export type RouteName = keyof typeof ROUTES;

/** Every route with its name, in the table's order. */
export const ROUTE_LIST: readonly (Route & { name: RouteName })[] = Object.entries(ROUTES).map(([name, route]) => ({
  ...(route as Route),
  name: name as RouteName,
}));

/** A route's path as Fastify writes it (`:id` for `{id}`). */
export const fastifyPath = (path: string) => path.replace(/\{(\w+)\}/g, ':$1');

/** A route's path with its parameters filled in (each encoded), for a client. */
export function routeUrl(name: RouteName, params: Record<string, string> = {}): string {
  return (ROUTES[name] as Route).path.replace(/\{(\w+)\}/g, (_match, key: string) => {
    const value = params[key];
    if (value === undefined) throw new Error(`route ${name} needs ${key}`);
    return encodeURIComponent(value);
  });
}
