import { createHash } from 'node:crypto';

/**
 * A memory's content in the form two writes of the same fact share: text in
 * Unicode NFKC, lower case, with runs of white space as one space and none at
 * the ends; objects with their keys sorted; numbers, booleans and null as JSON
 * has them. "The user prefers dark mode" and " the user  prefers Dark mode"
 * are one fact; {"a":1,"b":2} and {"b":2,"a":1} are one value.
 */
export function normaliseContent(content: unknown): string {
  return JSON.stringify(canonical(content));
}

function canonical(value: unknown): unknown {
  if (typeof value === 'string') return value.normalize('NFKC').toLowerCase().replace(/\s+/gu, ' ').trim();
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) out[key] = canonical((value as Record<string, unknown>)[key]);
    return out;
  }
  return value;
}

/**
 * sha256 (hex) of a memory's tenant, type and normalised content: what exact
 * deduplication compares. Tenant and type are in the hash so that the lookup
 * needs no other indexed condition: every other index of the table starts
 * with tenant_id, and for a tenant the statistics do not know yet (a new one)
 * the planner estimates one row and may walk the whole tenant instead.
 */
export function contentHash(tenant: string, type: string, content: unknown): string {
  return createHash('sha256')
    .update(`${tenant}\u0000${type}\u0000${normaliseContent(content)}`)
    .digest('hex');
}
