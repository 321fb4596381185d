import type { FastifyRequest } from 'fastify';
import { idForKey } from '../core/ids.js';
import { NotFoundError, ValidationError } from '../errors/index.js';
import type { Caller } from './keys.js';

/** What a handler reads from a request, checked: the JSON body as an object, query values, path parameters. */
export function body(request: FastifyRequest): Record<string, unknown> {
  const b = request.body;
  if (typeof b !== 'object' || b === null || Array.isArray(b)) throw new ValidationError('the request body must be a JSON object');
  return b as Record<string, unknown>;
}

export const query = (request: FastifyRequest) => request.query as Record<string, string | undefined>;

export const param = (request: FastifyRequest, name: string) => (request.params as Record<string, string>)[name] as string;

/** A query value as a whole number (NaN when it is not one, for the library to refuse). */
export const int = (value: string | undefined) => (value === undefined ? undefined : /^\d+$/.test(value) ? Number(value) : Number.NaN);

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
