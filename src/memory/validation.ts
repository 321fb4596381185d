import { z } from 'zod';
import { ValidationError } from '../errors/index.js';

/**
 * Bad input gets a clear error before any SQL runs. Beyond the zod shapes, every
 * string (values and keys, however deep) must be well-formed UTF-16 with no NUL
 * — Postgres text and jsonb cannot hold \u0000, and a lone surrogate would be
 * silently mangled — and JSON payloads must fit the configured size.
 */
export function checkString(value: string, field: string): void {
  if (value.includes('\u0000'))
    throw new ValidationError(`${field} contains a NUL byte (\\u0000), which PostgreSQL cannot store`, { field });
  if (!value.isWellFormed()) throw new ValidationError(`${field} is not valid UTF-8 (it contains a lone surrogate)`, { field });
}

/** Walk a JSON value: strings clean, numbers finite, nothing that JSON cannot represent. */
export function checkJson(value: unknown, field: string, path = field, seen = new Set<unknown>()): void {
  if (value === null || typeof value === 'boolean') return;
  if (typeof value === 'string') {
    checkString(value, path);
    return;
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new ValidationError(`${path} is ${value}; JSON holds only finite numbers`, { field: path });
    return;
  }
  if (typeof value !== 'object') throw new ValidationError(`${path} is a ${typeof value}; only JSON values can be stored`, { field: path });
  if (seen.has(value)) throw new ValidationError(`${path} contains a cycle`, { field: path });
  if (value instanceof Date) throw new ValidationError(`${path} is a Date; pass an ISO string inside JSON content`, { field: path });
  seen.add(value);
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) checkJson(item, field, `${path}[${i}]`, seen);
  } else {
    for (const [key, item] of Object.entries(value)) {
      checkString(key, `${path} key`);
      checkJson(item, field, `${path}.${key}`, seen);
    }
  }
  seen.delete(value);
}

export function checkSize(value: unknown, field: string, maxBytes: number): void {
  const bytes = Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8');
  if (bytes > maxBytes)
    throw new ValidationError(`${field} is ${bytes} bytes; the limit is ${maxBytes} bytes (limits.maxContentBytes)`, {
      field,
      bytes,
      maxBytes,
    });
}

/** Parse with a zod schema; failures become one ValidationError naming each field. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => `${issue.path.join('.') || what}: ${issue.message}`);
  throw new ValidationError(`invalid ${what}: ${issues.join('; ')}`, { issues });
}

/** A text field: well-formed, no NUL, bounded. */
export const cleanText = (max: number) =>
  z
    .string()
    .max(max, `must be at most ${max} characters`)
    .refine((v) => !v.includes('\u0000'), 'contains a NUL byte (\\u0000)')
    .refine((v) => v.isWellFormed(), 'is not valid UTF-8 (lone surrogate)');

/** Names used as filters and keys (agent, user, setting category/key): no quotes, spaces or SQL punctuation. */
export const identifier = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9_.:@/+-]{0,199}$/,
    'must be 1-200 characters of letters, digits and _ . : @ / + - (starting with a letter or digit)',
  );

export const uuid = z.string().uuid('must be a UUID');

export const timestamp = z
  .union([z.date(), z.string().datetime({ offset: true })])
  .transform((v) => (v instanceof Date ? v : new Date(v)))
  .refine((d) => !Number.isNaN(d.getTime()), 'is not a valid time');

export const jsonObject = z.record(z.string(), z.unknown());
