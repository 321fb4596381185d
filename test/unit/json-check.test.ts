import { describe, expect, it } from 'vitest';
import { checkJson } from '../../src/memory/validation.js';

const errorOf = (value: unknown) => {
  try {
    checkJson(value, 'content');
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
};

describe('checkJson', () => {
  it('passes clean JSON, however nested', () => {
    expect(errorOf({ a: [1, 'two', null, true, { b: { c: [[], {}] } }] })).toBeUndefined();
    expect(errorOf([{ type: 'text', text: 'hi' }])).toBeUndefined();
  });

  it('names the exact place of what it refuses', () => {
    const cyclic: Record<string, unknown> = { a: { b: [] } };
    ((cyclic.a as Record<string, unknown>).b as unknown[]).push(cyclic);
    const cases: [unknown, string][] = [
      ['nul \u0000', 'content contains a NUL byte'],
      [{ a: [1, { b: 'x\u0000' }] }, 'content.a[1].b contains a NUL byte'],
      [{ a: { 'k\u0000': 1 } }, 'content.a key contains a NUL byte'],
      [[0, [1, 'lone \ud800']], 'content[1][1] is not valid UTF-8'],
      [{ n: [Number.NaN] }, 'content.n[0] is NaN; JSON holds only finite numbers'],
      [{ f: { g: () => 1 } }, 'content.f.g is a function; only JSON values can be stored'],
      [{ u: [undefined] }, 'content.u[0] is undefined; only JSON values can be stored'],
      [{ when: new Date(0) }, 'content.when is a Date; pass an ISO string inside JSON content'],
      [{ m: new Map() }, 'content.m is a Map; only plain objects, arrays and JSON scalars can be stored'],
      [cyclic, 'content.a.b[0] contains a cycle'],
    ];
    for (const [value, message] of cases) expect(errorOf(value), message).toContain(message);
  });

  it('refuses nesting past its depth with a clear error, not a stack overflow', () => {
    let deep: unknown = 'bottom';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(errorOf(deep)).toContain('content is nested more than 100 levels deep');
  });
});
