import { describe, expect, it } from 'vitest';
import { plainMemory, rememberInput } from '../../src/memory/memories/memories.js';
import { isUuidText, parseInput, uuid } from '../../src/memory/validation.js';
import { expectSameVerdicts } from './same-verdicts.js';

const FULL = {
  id: '0190f5a2-7b1c-7d3e-8f00-123456789abc',
  type: 'decision',
  content: { decision: 'use the spare pump', why: 'the main one cavitates' },
  metadata: { source: 'incident 42', tags: ['pump', 'spare'] },
  sessionId: '0190f5a2-7b1c-7d3e-8f00-123456789abd',
  userId: 'user-7',
  importance: 0.8,
  createdAt: new Date('2026-01-02T03:04:05Z'),
  expiresAt: new Date('2027-01-02T03:04:05Z'),
};

const CASES: unknown[] = [
  { type: 'context', content: 'the pump is blue' },
  { type: 'context', content: 0 },
  { type: 'context', content: null },
  { type: 'context', content: [1, { a: 'b' }] },
  FULL,
  { ...FULL, supersedes: '0190f5a2-7b1c-7d3e-8f00-123456789abe' },
  { type: 'context' },
  { type: 'context', content: undefined },
  { type: 'nonsense', content: 'x' },
  { content: 'no type' },
  { ...FULL, id: 'nope' },
  { ...FULL, sessionId: 42 },
  { ...FULL, supersedes: '' },
  { ...FULL, userId: 'has spaces' },
  { ...FULL, userId: '' },
  { ...FULL, importance: 1.5 },
  { ...FULL, importance: -0.1 },
  { ...FULL, importance: Number.NaN },
  { ...FULL, importance: Number.POSITIVE_INFINITY },
  { ...FULL, importance: '0.5' },
  { ...FULL, metadata: [] },
  { ...FULL, metadata: { nul: '\u0000' } },
  { ...FULL, metadata: { when: new Date(0) } },
  { ...FULL, metadata: new Map() },
  { ...FULL, createdAt: new Date(Number.NaN) },
  { ...FULL, createdAt: '2026-01-02T03:04:05Z' },
  { ...FULL, expiresAt: 'tomorrow' },
  { ...FULL, expiresAt: null },
  { ...FULL, other: 1 },
  { ...FULL, userId: undefined },
  Object.assign(Object.create(null), { type: 'context', content: 'x' }),
  { type: 'context', content: 'x', [Symbol('s')]: 1 },
  ['context', 'x'],
  'context',
  null,
  undefined,
];

describe('the memory shape', () => {
  it('gives, without the schema, the verdict the schema gives, for every input', () => {
    expectSameVerdicts(
      CASES,
      (input) => plainMemory(input) ?? parseInput(rememberInput, input, 'memory'),
      (input) => parseInput(rememberInput, input, 'memory'),
      ['metadata'],
    );
  });

  it('vouches by itself for ordinary memories', () => {
    for (const input of [{ type: 'context', content: 'x' }, FULL]) expect(plainMemory(input), JSON.stringify(input)).toBeDefined();
  });
});

describe('the UUID check', () => {
  it("says what zod's uuid says, for every input", () => {
    const inputs = [
      '0190f5a2-7b1c-7d3e-8f00-123456789abc',
      '0190F5A2-7B1C-7D3E-8F00-123456789ABC',
      '00000000-0000-0000-0000-000000000000',
      'ffffffff-ffff-ffff-ffff-ffffffffffff',
      '0190f5a2-7b1c-0d3e-8f00-123456789abc',
      '0190f5a2-7b1c-7d3e-7f00-123456789abc',
      '0190f5a27b1c7d3e8f00123456789abc',
      ' 0190f5a2-7b1c-7d3e-8f00-123456789abc',
      '0190f5a2-7b1c-7d3e-8f00-123456789abc\n',
      '',
      42,
      null,
      undefined,
    ];
    for (const input of inputs) expect(isUuidText(input), String(input)).toBe(uuid.safeParse(input).success);
  });
});
