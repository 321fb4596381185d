/**
 * What the MCP server offers besides tools: the tenant's sessions and
 * memories as resources (the newest listed; any read by its URI), and a
 * prompt that assembles what an agent should know for its next turn.
 */
import { type McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import type { AgentMemory } from '../memory/index.js';

/** How many sessions and memories a resource list names (the newest). */
const LISTED = 50;

const json = (uri: URL, value: unknown) => ({
  contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(value, null, 2) }],
});

export function registerResourcesAndPrompts(server: McpServer, memory: AgentMemory): void {
  server.registerResource(
    'session',
    new ResourceTemplate('agentmem://sessions/{id}', {
      list: async () => ({
        resources: (await memory.sessions.list({ limit: LISTED })).map((s) => ({
          uri: `agentmem://sessions/${s.id}`,
          name: s.title ?? `session ${s.id}`,
          description: `a conversation${s.userId ? ` of user ${s.userId}` : ''}${s.agentId ? ` with agent ${s.agentId}` : ''}: the session and its messages`,
          mimeType: 'application/json',
        })),
      }),
    }),
    { description: 'A conversation: the session and its messages, in order.', mimeType: 'application/json' },
    async (uri, { id }) => json(uri, await memory.sessions.load(String(id))),
  );
  server.registerResource(
    'memory',
    new ResourceTemplate('agentmem://memories/{id}', {
      list: async () => ({
        resources: (await memory.memories.recall({ limit: LISTED })).map((m) => ({
          uri: `agentmem://memories/${m.id}`,
          name: `${m.type} ${m.id}`,
          description: (typeof m.content === 'string' ? m.content : JSON.stringify(m.content)).slice(0, 200),
          mimeType: 'application/json',
        })),
      }),
    }),
    { description: 'A memory: a fact, preference, decision, issue … with its metadata and validity.', mimeType: 'application/json' },
    async (uri, { id }) => json(uri, await memory.memories.get(String(id))),
  );
  server.registerPrompt(
    'recall_context',
    {
      description:
        "What to know for the next turn: the user's working memory, the memories and knowledge most relevant to the query, and the session's newest turns, as one cited block.",
      argsSchema: {
        sessionId: z.string().optional().describe('the conversation (its newest turns, and its user)'),
        query: z.string().optional().describe("what the memories should be relevant to (default: the session's newest user message)"),
      },
    },
    async ({ sessionId, query }) => {
      const context = await memory.context({ budgetTokens: 2000, ...(sessionId ? { sessionId } : {}), ...(query ? { query } : {}) });
      return { messages: [{ role: 'user', content: { type: 'text', text: context.text || '(nothing remembered yet)' } }] };
    },
  );
}
