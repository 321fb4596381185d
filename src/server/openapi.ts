import { z } from 'zod';
import { ROUTE_LIST } from './routes.js';
import { problem } from './shapes.js';

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
  for (const route of ROUTE_LIST) {
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
