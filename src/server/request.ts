import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { idForKey } from '../core/ids.js';
import { NotFoundError, ValidationError } from '../errors/index.js';
import type { Caller } from './keys.js';

/** What a handler reads from a request, checked: the JSON body as an object, query values, path parameters. */
export function body(request: FastifyRequest): Record<string, unknown> {
  const b = request.body;
  if (typeof b !== 'object' || b === null || Array.isArray(b)) throw new ValidationError('the request body must be a JSON object');
  return b as Record<string, unknown>;
}

export const param = (request: FastifyRequest, name: string) => (request.params as Record<string, string>)[name] as string;

/** A query value as a whole number (NaN when it is not one, for the library to refuse). */
const int = (value: string) => (/^\d+$/.test(value) ? Number(value) : Number.NaN);

const unwrapped = (schema: z.ZodType): z.ZodType =>
  schema instanceof z.ZodOptional || schema instanceof z.ZodDefault ? unwrapped(schema.unwrap() as z.ZodType) : schema;

/**
 * The query as the route's query schema types it: numbers and booleans from
 * their text, the rest as sent (a repeated key stays a list). The library
 * checks the result, so an unknown or malformed parameter is refused (400)
 * rather than ignored.
 */
export function queryOf(request: FastifyRequest, schema: z.ZodObject): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(request.query as Record<string, string | string[] | undefined>)) {
    const field = schema.shape[key];
    const kind = field ? unwrapped(field as z.ZodType) : undefined;
    if (typeof value !== 'string') out[key] = value;
    else if (kind instanceof z.ZodNumber) out[key] = int(value);
    else if (kind instanceof z.ZodBoolean) out[key] = value === 'true' ? true : value === 'false' ? false : value;
    else out[key] = value;
  }
  return out;
}

/** The record (or a delete's `true`), else 404 naming what was asked for. */
export function orNotFound<T>(value: T | null | false, what: string, request: FastifyRequest): T {
  if (value === null || value === false) throw new NotFoundError(`no ${what} ${param(request, 'id')}`);
  return value;
}

/** The id an Idempotency-Key stands for on this route: a retried request names the same record. */
export function idempotentId(request: FastifyRequest, what: string): string | undefined {
  const key = request.headers['idempotency-key'];
  if (typeof key !== 'string' || !key) return undefined;
  if (key.length > 200) throw new ValidationError('Idempotency-Key is longer than 200 characters');
  return idForKey((request.caller as Caller).tenant, `http:${what}`, key);
}

/** A search's body: its `query` (a string) and the rest, the options the library checks. */
export function searchBody(request: FastifyRequest): { text: string; options: Record<string, unknown> } {
  const { query: text, ...options } = body(request);
  if (typeof text !== 'string') throw new ValidationError('query: expected a string');
  return { text, options };
}
