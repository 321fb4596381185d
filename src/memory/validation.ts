import { z } from 'zod';
import { ValidationError } from '../errors/index.js';

/*
 * Bad input gets a clear error before any SQL runs. Beyond the zod shapes, every
 * string (values and keys, however deep) must be well-formed UTF-16 with no NUL
 * — Postgres text and jsonb cannot hold \u0000, and a lone surrogate would be
 * silently mangled — and JSON payloads must fit the configured size.
 */
/** No NUL and well-formed: what PostgreSQL text and jsonb can hold as given (checkString says which is wrong). */
export function isStorableString(value: string): boolean {
  return !value.includes('\u0000') && value.isWellFormed();
}

export function checkString(value: string, field: string): void {
  if (value.includes('\u0000'))
    throw new ValidationError(`${field} contains a NUL byte (\\u0000), which PostgreSQL cannot store`, { field });
  if (!value.isWellFormed()) throw new ValidationError(`${field} is not valid UTF-8 (it contains a lone surrogate)`, { field });
}

/** How deep a JSON value may nest: far beyond real content, far below a stack overflow. */
export const MAX_JSON_DEPTH = 100;

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Walk a JSON value: strings clean, numbers finite, only plain objects and
 * arrays — a Map, a Set, a Date or a class instance would not come back as it
 * went in — at most MAX_JSON_DEPTH deep, and no cycles.
 */
export function checkJson(root: unknown, field: string): void {
  // Most content is one string: checked without a walk.
  if (typeof root === 'string') {
    checkString(root, field);
    return;
  }
  new JsonWalk(field).visit(root, 0);
}

/**
 * One checkJson walk. It recurses, but never deeper than MAX_JSON_DEPTH + 1
 * frames (the depth is checked before each step down), so a hostile value
 * nested 100,000 deep gets the depth error, not a stack overflow. It allocates
 * nothing per value: a value's path is made from the keys on the way down, and
 * only for an error.
 */
class JsonWalk {
  /** The objects and arrays from the root down to the value being checked: a cycle is one of them again. */
  private readonly ancestors: object[] = [];
  /** Each step's key (an index or a property) from the root down to the value being checked. */
  private readonly keys: (string | number)[] = [];

  constructor(private readonly field: string) {}

  visit(value: unknown, depth: number): void {
    if (value === null || typeof value === 'boolean') return;
    if (typeof value === 'string') {
      if (!isStorableString(value)) checkString(value, this.path());
      return;
    }
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) this.fail(`is ${value}; JSON holds only finite numbers`);
      return;
    }
    if (typeof value !== 'object') {
      this.fail(`is ${value === undefined ? 'undefined' : `a ${typeof value}`}; only JSON values can be stored`);
      return;
    }
    if (this.ancestors.includes(value)) this.fail('contains a cycle');
    if (depth >= MAX_JSON_DEPTH)
      throw new ValidationError(`${this.field} is nested more than ${MAX_JSON_DEPTH} levels deep`, { field: this.field });
    if (value instanceof Date) this.fail('is a Date; pass an ISO string inside JSON content');
    if (!Array.isArray(value) && !isPlainObject(value))
      this.fail(`is a ${(value as object).constructor?.name ?? 'object'}; only plain objects, arrays and JSON scalars can be stored`);
    this.ancestors.push(value);
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) this.step(i, value[i], depth);
    } else {
      const keys = Object.keys(value);
      // Every key before any value under them (the order of errors the walk has always had).
      for (const key of keys) if (!isStorableString(key)) checkString(key, `${this.path()} key`);
      for (const key of keys) this.step(key, (value as Record<string, unknown>)[key], depth);
    }
    this.ancestors.pop();
  }

  private step(key: string | number, child: unknown, depth: number): void {
    this.keys.push(key);
    this.visit(child, depth + 1);
    this.keys.pop();
  }

  /** The path of the value being checked, as `field.key[0].other`. */
  private path(): string {
    let path = this.field;
    for (const key of this.keys) path += typeof key === 'number' ? `[${key}]` : `.${key}`;
    return path;
  }

  private fail(problem: string): never {
    const path = this.path();
    throw new ValidationError(`${path} ${problem}`, { field: path });
  }
}

/** Refuse a JSON value over the size limit; answers its JSON text (what was measured), for the caller to send. */
export function checkSize(value: unknown, field: string, maxBytes: number): string {
  const text = JSON.stringify(value) ?? '';
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > maxBytes)
    throw new ValidationError(`${field} is ${bytes} bytes; the limit is ${maxBytes} bytes (limits.maxContentBytes)`, {
      field,
      bytes,
      maxBytes,
    });
  return text;
}

/**
 * An object whose reading has no corner to it: a plain object (Object's own
 * prototype), its own keys all enumerable strings (no symbols, no hidden or
 * `__proto__` keys), none of them undefined. What zod does with anything else
 * is zod's to say.
 */
export function isBoringObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Object.getPrototypeOf(value) !== Object.prototype) return false;
  const names = Object.getOwnPropertyNames(value);
  if (Object.getOwnPropertySymbols(value).length || names.length !== Object.keys(value).length) return false;
  for (const name of names) if (name === '__proto__' || (value as Record<string, unknown>)[name] === undefined) return false;
  return true;
}

/** jsonObject's verdict without zod: a plain object whose whole tree is clean JSON; its output is a copy, as zod's is. */
export function jsonObjectCopy(value: unknown): Record<string, unknown> | undefined {
  if (!isBoringObject(value)) return undefined;
  try {
    checkJson(value, '(this object)');
  } catch (error) {
    if (error instanceof ValidationError) return undefined;
    throw error;
  }
  return { ...value };
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

/** `cleanText(max)` piped to at least one character, as a verdict without zod: a string of 1 to max characters, storable. */
export function isNonEmptyCleanText(value: unknown, max: number): value is string {
  return typeof value === 'string' && value.length >= 1 && value.length <= max && isStorableString(value);
}

/** A Date that holds a time (zod's z.date() and `timestamp` refuse an invalid one). */
export function isValidDate(value: unknown): value is Date {
  return value instanceof Date && !Number.isNaN(value.getTime());
}

/** Names used as filters and keys (agent, user, setting category/key): no quotes, spaces or SQL punctuation. */
export const identifier = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9_.:@/+-]{0,199}$/,
    'must be 1-200 characters of letters, digits and _ . : @ / + - (starting with a letter or digit)',
  );

export const uuid = z.string().uuid('must be a UUID');
/** The pattern `uuid` checks (zod's own), for the check without zod's walk. */
const UUID_PATTERN = z.regexes.uuid();

/** Is this a UUID, as `uuid` says? (The same pattern, without the schema's machinery: ids are checked on every call.) */
export function isUuidText(value: unknown): value is string {
  return typeof value === 'string' && UUID_PATTERN.test(value);
}

/** A UUID, or `uuid`'s error naming `what`. */
export function parseUuid(value: unknown, what: string): string {
  return isUuidText(value) ? value : parseInput(uuid, value, what);
}

export const timestamp = z
  .union([z.date(), z.string().datetime({ offset: true })])
  .transform((v) => (v instanceof Date ? v : new Date(v)))
  .refine((d) => !Number.isNaN(d.getTime()), 'is not a valid time');

/** A JSON object: plain (not a Map, a class instance or an array), and everything in it clean JSON (checkJson). */
export const jsonObject = z
  // A record (zod refuses arrays, Maps, Dates and class instances), so JSON Schema can describe it (OpenAPI, MCP tools).
  .record(z.string(), z.unknown(), { error: 'must be a plain JSON object' })
  .superRefine((value, ctx) => {
    try {
      checkJson(value, '(this object)');
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      ctx.addIssue({ code: 'custom', message: error.message });
    }
  });

/** A URL field: no NUL or lone surrogate (a URL parser lets both through), bounded. */
export const cleanUrl = (max: number) => cleanText(max).pipe(z.string().url('must be a URL'));
