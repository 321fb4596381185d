import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { AGENTMEM_VERSION } from '../core/version.js';
import { AgentmemError } from '../errors/index.js';
import { contextSchema } from '../memory/context-assembly.js';
import type { AgentMemory, MessageInput } from '../memory/index.js';
import {
  atomSearchOptionsSchema,
  messageInputSchema,
  recallFilterSchema,
  rememberInputSchema,
  sessionInputSchema,
} from '../memory/input-schemas.js';
import { messageSearchSchema } from '../memory/recall/recall-input.js';
import { timestamp } from '../memory/validation.js';
import { registerResourcesAndPrompts } from './mcp-resources.js';

type ToolResult = { content: { type: 'text'; text: string }[]; isError?: boolean };

/** A tool's answer as JSON text; a library error as an error result with its stable code (the host shows it to the model). */
async function answer(fn: () => Promise<unknown>): Promise<ToolResult> {
  try {
    const value = await fn();
    return { content: [{ type: 'text', text: JSON.stringify(value ?? null) }] };
  } catch (error) {
    const body = error instanceof AgentmemError ? error.toJSON() : { error: 'INTERNAL', message: 'internal error' };
    return { content: [{ type: 'text', text: JSON.stringify(body) }], isError: true };
  }
}

const memoryId = z.object({ id: z.uuid().describe('the memory id') });

/**
 * The library's schema as a JSON client sees it: its times (which JS callers
 * may pass as Dates, which JSON cannot describe) as ISO 8601 strings — the
 * library reads those too. Everything else is the library's schema unchanged.
 */
function jsonFacing(schema: z.ZodType): z.ZodType {
  if (schema === timestamp) return z.iso.datetime({ offset: true });
  if (schema instanceof z.ZodOptional) return jsonFacing(schema.unwrap() as z.ZodType).optional();
  if (schema instanceof z.ZodNullable) return jsonFacing(schema.unwrap() as z.ZodType).nullable();
  if (schema instanceof z.ZodObject) {
    const shape = Object.fromEntries(Object.entries(schema.shape).map(([key, value]) => [key, jsonFacing(value as z.ZodType)]));
    return schema.safeExtend(shape);
  }
  return schema;
}
const facing = <T extends z.ZodType>(schema: T) => jsonFacing(schema) as unknown as T;

/**
 * The MCP server: the tools agent hosts expect of a memory server, each a call
 * of the library as `memory`'s tenant (over HTTP, the API key's), each input
 * schema the library's own.
 */
export function createMcpServer(memory: AgentMemory): McpServer {
  // Logging: hosts may set a level (the server sends no log notifications of its own yet).
  const server = new McpServer({ name: 'agentmem', version: AGENTMEM_VERSION }, { capabilities: { logging: {} } });
  registerResourcesAndPrompts(server, memory);
  server.registerTool(
    'add_memory',
    {
      description: 'Remember something: a typed memory (decision, action, issue, context, log …) with JSON content.',
      inputSchema: facing(rememberInputSchema),
    },
    (input) => answer(async () => (await memory.memories.rememberAndRead(input as never)).memory),
  );
  server.registerTool(
    'search_memories',
    {
      description:
        'Find memories. With `query`: by meaning (mode hybrid: full text and vector fused; text; vector), within a user or session, current facts unless includeSuperseded or asOf, each hit with why it matched. Without: by text, type, session, user, time and importance.',
      inputSchema: (facing(recallFilterSchema) as z.ZodObject).extend({
        query: z.string().optional().describe('what to recall, in words: searches by meaning'),
        mode: z.enum(['text', 'vector', 'hybrid']).optional(),
      }),
    },
    ({ query, mode, ...filter }) =>
      answer(() => {
        if (query === undefined) return memory.memories.recall(filter as never);
        const f = filter as {
          userId?: string;
          sessionId?: string;
          types?: never;
          limit?: number;
          asOf?: string;
          includeSuperseded?: boolean;
        };
        return memory.memories.search(query as string, {
          ...(mode ? { mode: mode as 'text' | 'vector' | 'hybrid' } : {}),
          scope: { ...(f.userId ? { userId: f.userId } : {}), ...(f.sessionId ? { sessionId: f.sessionId } : {}) },
          ...(f.types ? { types: f.types } : {}),
          ...(f.limit ? { k: f.limit } : {}),
          ...(f.asOf ? { asOf: f.asOf } : {}),
          ...(f.includeSuperseded ? { includeSuperseded: true } : {}),
        });
      }),
  );
  server.registerTool(
    'search_messages',
    {
      description:
        "Find what was said, by meaning, across a user's or an agent's sessions (or one session), each hit with the turns around it.",
      inputSchema: z.object({ query: z.string() }).extend(messageSearchSchema.shape),
    },
    ({ query, ...options }) => answer(() => memory.sessions.searchMessages(query, options as never)),
  );
  server.registerTool(
    'recall_context',
    {
      description:
        "What to know for the next turn, as one block for the prompt: the memories and knowledge most relevant to the query (default: the session's newest user message), each cited by id, and the session's newest turns — within budgetTokens.",
      inputSchema: contextSchema.extend({ budgetTokens: contextSchema.shape.budgetTokens.default(2000) }),
    },
    (input) =>
      answer(async () => {
        const context = await memory.context(input as never);
        return {
          text: context.text,
          tokens: context.tokens,
          memories: context.memories.map((h) => h.memory.id),
          knowledge: context.knowledge.map((h) => h.atom.atomId),
          turns: context.turns.length,
          ...(context.degraded ? { degraded: context.degraded } : {}),
        };
      }),
  );
  const workingScope = {
    userId: z.string().optional().describe("the user's working memory (across their sessions)"),
    sessionId: z.string().optional().describe("or one session's"),
  };
  const scopeOf = (input: { userId?: string | undefined; sessionId?: string | undefined }) =>
    (input.sessionId !== undefined ? { sessionId: input.sessionId } : { userId: input.userId }) as never;
  server.registerTool(
    'get_working_memory',
    {
      description: "A user's or a session's working memory: the document an agent keeps in context and edits as it learns.",
      inputSchema: workingScope,
    },
    (input) => answer(() => memory.workingMemory.get(scopeOf(input))),
  );
  server.registerTool(
    'update_working_memory',
    {
      description:
        'Change a working memory: a JSON object is merged into it (a key set to null is removed), a text replaces a Markdown document. Concurrent updates lose nothing.',
      inputSchema: { ...workingScope, patch: z.union([z.string(), z.record(z.string(), z.unknown())]) },
    },
    (input) => answer(() => memory.workingMemory.update(scopeOf(input), input.patch as never)),
  );
  server.registerTool('get_memory', { description: 'One memory by id.', inputSchema: memoryId }, ({ id }) =>
    answer(() => memory.memories.get(id)),
  );
  server.registerTool(
    'list_memories',
    {
      description: 'The newest memories, optionally of some types.',
      inputSchema: recallFilterSchema.pick({ types: true, sessionId: true, userId: true, limit: true }),
    },
    (input) => answer(() => memory.memories.recall(input as never)),
  );
  server.registerTool('delete_memory', { description: 'Forget a memory (its content is erased).', inputSchema: memoryId }, ({ id }) =>
    answer(() => memory.memories.forget(id)),
  );
  server.registerTool(
    'save_message',
    {
      description:
        'Append a message to a session transcript (the session is created when missing; name it by sessionId or by session.externalId).',
      inputSchema: z.object({
        sessionId: z.uuid().optional(),
        session: facing(sessionInputSchema).optional(),
        message: facing(messageInputSchema),
      }),
    },
    ({ sessionId, session, message }) =>
      answer(async () => {
        const id = sessionId ?? (await memory.sessions.create((session ?? {}) as never)).id;
        return memory.sessions.addMessage(id, message as MessageInput);
      }),
  );
  server.registerTool(
    'get_session',
    {
      description: 'A session and its newest messages (oldest first).',
      inputSchema: z.object({ sessionId: z.uuid(), limit: z.number().int().min(1).max(10_000).optional() }),
    },
    ({ sessionId, limit }) =>
      answer(async () => {
        const session = await memory.sessions.get(sessionId);
        if (!session) return null;
        return { session, messages: await memory.sessions.getMessages(sessionId, limit ? { limit } : {}) };
      }),
  );
  server.registerTool(
    'search_knowledge',
    {
      description: 'Search the knowledge base (knowledge atoms): text, vector or hybrid, with filters.',
      inputSchema: z.object({ query: z.string().min(1) }).extend(atomSearchOptionsSchema.shape),
    },
    ({ query, ...options }) => answer(() => memory.atoms.search(query, options as never)),
  );
  return server;
}
