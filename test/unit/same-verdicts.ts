import { expect } from 'vitest';

/** The verdict of a parse: its output, or the error it throws. */
function verdict(parse: () => unknown): { ok?: unknown; error?: string } {
  try {
    return { ok: parse() };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

/**
 * A parse without the schema (`fast`) gives, for every input, the schema's
 * verdict: the same output or the same error. And what the schema copies
 * (`copied`: fields holding objects), the fast parse copies too, so its
 * output shares no object the schema's would not.
 */
export function expectSameVerdicts(
  inputs: unknown[],
  fast: (input: unknown) => unknown,
  schema: (input: unknown) => unknown,
  copied: string[],
) {
  for (const input of inputs) {
    const mine = verdict(() => fast(input));
    expect(mine, JSON.stringify(input) ?? String(input)).toEqual(verdict(() => schema(input)));
    const out = mine.ok as Record<string, unknown> | undefined;
    const given = input as Record<string, unknown> | null | undefined;
    for (const field of copied)
      if (out && given && typeof given[field] === 'object' && given[field] !== null) expect(out[field]).not.toBe(given[field]);
  }
}
