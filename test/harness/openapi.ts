/**
 * Requests and answers checked against the OpenAPI document the server
 * publishes (JSON Schema 2020-12, formats checked), its `$ref`s followed:
 * what a client generated from the document relies on.
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => void;

type Schema = Record<string, unknown>;
interface Parameter {
  name: string;
  in: string;
  required?: boolean;
  schema: Schema;
}
interface Operation {
  operationId: string;
  parameters?: Parameter[];
  requestBody?: { $ref: string };
  responses: Record<string, { $ref?: string; content?: Record<string, { schema: Schema }> }>;
}
export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: {
    schemas: Record<string, Schema>;
    requestBodies: Record<string, { content: Record<string, { schema: Schema }> }>;
    responses: Record<string, { content?: Record<string, { schema: Schema }> }>;
  };
}

const ROOT = 'urn:agentmem:openapi';

/** The document's path template that matches a concrete path (`/v1/sessions/abc` → `/v1/sessions/{id}`). */
export function templateOf(document: OpenApiDocument, path: string): string | undefined {
  const bare = path.split('?')[0] as string;
  return Object.keys(document.paths).find((template) =>
    new RegExp(`^${template.replace(/[.]/g, '\\.').replace(/\{\w+\}/g, '[^/]+')}$`).test(bare),
  );
}

export function openApiValidator(document: OpenApiDocument) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  // The components under an id of their own: a `#/components/…` reference inside them resolves against it.
  ajv.addSchema({ $id: ROOT, components: document.components });
  const compiled = new Map<Schema, ValidateFunction>();
  const validatorOf = (schema: Schema) => {
    let validate = compiled.get(schema);
    if (!validate) {
      validate =
        typeof schema.$ref === 'string' && Object.keys(schema).length === 1
          ? (ajv.getSchema(`${ROOT}${schema.$ref}`) as ValidateFunction)
          : ajv.compile(JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', `"${ROOT}#/components/`)));
      if (!validate) throw new Error(`the document has no ${String(schema.$ref)}`);
      compiled.set(schema, validate);
    }
    return validate;
  };
  const check = (schema: Schema, value: unknown, what: string): string | undefined => {
    const validate = validatorOf(schema);
    return validate(value) ? undefined : `${what}: ${ajv.errorsText(validate.errors)}`;
  };
  const operation = (method: string, path: string): Operation => {
    const template = templateOf(document, path);
    const found = template ? document.paths[template]?.[method.toLowerCase()] : undefined;
    if (!found) throw new Error(`${method} ${path} is not in the document`);
    return found;
  };

  return {
    operation,
    /** What is wrong with a request (its query parameters and JSON body), or undefined. */
    request(method: string, url: string, body: unknown): string | undefined {
      const op = operation(method, new URL(url, 'http://x').pathname);
      const query = new URL(url, 'http://x').searchParams;
      const params = (op.parameters ?? []).filter((p) => p.in === 'query');
      for (const key of query.keys())
        if (!params.some((p) => p.name === key)) return `${op.operationId}: query parameter ${key} is not documented`;
      for (const p of params) {
        const text = query.get(p.name);
        if (text === null) {
          if (p.required) return `${op.operationId}: query parameter ${p.name} is required`;
          continue;
        }
        const type = p.schema.type;
        const value = type === 'integer' || type === 'number' ? Number(text) : type === 'boolean' ? text === 'true' : text;
        const wrong = check(p.schema, value, `${op.operationId} ?${p.name}`);
        if (wrong) return wrong;
      }
      const requestBody = op.requestBody && document.components.requestBodies[op.requestBody.$ref.split('/').pop() as string];
      const schema = requestBody?.content['application/json']?.schema;
      if (body === undefined) return op.requestBody ? `${op.operationId}: the request needs a body` : undefined;
      if (!schema) return `${op.operationId}: the document has no request body`;
      return check(schema, body, `${op.operationId} request`);
    },
    /** What is wrong with an answer (its status, media type and body), or undefined. */
    response(method: string, url: string, status: number, contentType: string, body: unknown): string | undefined {
      const op = operation(method, new URL(url, 'http://x').pathname);
      let response = op.responses[String(status)] ?? op.responses.default;
      if (!response) return `${op.operationId}: status ${status} is not documented`;
      if (response.$ref) response = document.components.responses[response.$ref.split('/').pop() as string] ?? {};
      if (status === 204) return undefined;
      const media = contentType.split(';')[0]?.trim() ?? '';
      const content = response.content?.[media];
      if (!content) return `${op.operationId} ${status}: ${media} is not documented`;
      if (!media.endsWith('json')) return undefined;
      return check(content.schema, body, `${op.operationId} ${status}`);
    },
  };
}
