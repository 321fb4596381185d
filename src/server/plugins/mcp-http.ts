/** MCP over Streamable HTTP, stateless: each request gets a server acting as the key's tenant. */
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { createMcpServer } from '../mcp.js';
import { problem } from '../problems.js';
import { registerRoute } from '../register.js';
import { fastifyPath, ROUTES } from '../routes.js';
import type { StoreOf } from './types.js';

export const mcpHttp: FastifyPluginAsync<{ store: StoreOf }> = async (app, { store }) => {
  registerRoute(app, 'mcp', async (request, reply) => {
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
  // No sessions to resume or end: the other methods of the endpoint say so (with the same scope as POST).
  const noSessions = async (_request: FastifyRequest, reply: FastifyReply) =>
    reply
      .status(405)
      .header('allow', 'POST')
      .type('application/problem+json')
      .send({ ...problem('BAD_REQUEST', 'this MCP endpoint is stateless: POST only'), status: 405 });
  app.route({ method: ['GET', 'DELETE'], url: fastifyPath(ROUTES.mcp.path), handler: noSessions, config: { routeName: 'mcp' } });
};
