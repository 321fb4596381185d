import { describe, expect, it } from 'vitest';
import { messageInput, parseMessage, plainMessage } from '../../src/memory/sessions/message-model.js';
import { parseInput } from '../../src/memory/validation.js';
import { expectSameVerdicts } from './same-verdicts.js';

const inherited = Object.create({ extra: 1 }) as Record<string, unknown>;
inherited.role = 'user';
inherited.content = 'hi';
class Shaped {
  role = 'user';
  content = 'hi';
}
const withGetter = {
  role: 'user',
  get content() {
    return 'computed';
  },
};

const RICH = {
  role: 'assistant',
  content: 'Checking the sensor and the manual.',
  name: 'planner',
  toolCalls: [
    { id: 'call_1', name: 'read_sensor', arguments: { pump: 4, fields: ['vibration', 'temperature'] } },
    { id: 'call_2', name: 'search_manual', arguments: '{"query":"cavitation"}' },
  ],
  externalId: 'ext-1',
  extra: { openai: { refusal: null } },
  metadata: { turn: 3 },
};
const withSymbol = { role: 'user', content: 'hi', [Symbol('s')]: 1 };
const withHidden = Object.defineProperty({ role: 'user', content: 'hi' }, 'metadata', { value: { a: 1 }, enumerable: false });

const CASES: unknown[] = [
  withSymbol,
  withHidden,
  { role: 'user', content: 'hello' },
  { role: 'assistant', content: '' },
  { role: 'system', content: 'be brief' },
  { role: 'developer', content: 'x'.repeat(5000) },
  { role: 'tool', content: 'found' },
  { role: 'tool', content: 'found', toolCallId: 'c1' },
  { role: 'robot', content: 'beep' },
  { role: 'user', content: 42 },
  { role: 'user', content: null },
  { role: 'user', content: [{ type: 'text', text: 'parts' }] },
  { role: 'user' },
  { content: 'no role' },
  { role: 'user', content: 'hi', extra: 1 },
  { role: 'user', content: 'hi', metadata: { a: 1 } },
  { role: 'user', content: 'lone \ud800 surrogate' },
  { role: 'user', content: 'nul \u0000 byte' },
  { role: 'user', content: undefined },
  { role: undefined, content: 'hi' },
  Object.assign(Object.create(null), { role: 'user', content: 'no prototype' }),
  inherited,
  new Shaped(),
  withGetter,
  ['user', 'hi'],
  // Every field, as frameworks send them, and each one wrong in turn.
  RICH,
  { ...RICH, id: '0190f5a2-7b1c-7d3e-8f00-123456789abc' },
  { ...RICH, id: 'not-a-uuid' },
  { ...RICH, name: '' },
  { ...RICH, name: 'x'.repeat(1001) },
  { ...RICH, name: 'nul \u0000' },
  { ...RICH, name: 7 },
  { ...RICH, externalId: 'lone \ud800' },
  { ...RICH, toolCalls: [] },
  { ...RICH, toolCalls: [{ id: 'c1', name: 'f' }] },
  { ...RICH, toolCalls: [{ id: 'c1', name: 'f', arguments: '{"a":1}', extra: 1 }] },
  { ...RICH, toolCalls: [{ id: '', name: 'f', arguments: {} }] },
  { ...RICH, toolCalls: [{ id: 'c1', name: 'f', arguments: undefined }] },
  { ...RICH, toolCalls: [{ id: 'c1', name: 'f', arguments: { nul: '\u0000' } }] },
  { ...RICH, toolCalls: { 0: { id: 'c1', name: 'f', arguments: {} } } },
  { ...RICH, toolCalls: Array.from({ length: 1001 }, (_, i) => ({ id: `c${i}`, name: 'f', arguments: {} })) },
  { ...RICH, role: 'user' },
  { ...RICH, extra: { openai: { refusal: null }, gemini: {} } },
  { ...RICH, extra: { openai: [] } },
  { ...RICH, extra: { openai: { bad: Number.NaN } } },
  { ...RICH, extra: { anthropic: { deep: { deeper: ['ok', { fine: true }] } } } },
  { ...RICH, metadata: { nested: { list: [1, 'two', null] } } },
  { ...RICH, metadata: { nul: 'a\u0000b' } },
  { ...RICH, metadata: { when: new Date(0) } },
  { ...RICH, metadata: new Map([['a', 1]]) },
  { ...RICH, metadata: [] },
  { ...RICH, metadata: { a: undefined } },
  { ...RICH, createdAt: new Date('2026-01-02T03:04:05Z') },
  { ...RICH, createdAt: new Date(Number.NaN) },
  { ...RICH, createdAt: '2026-01-02T03:04:05+01:00' },
  { ...RICH, createdAt: 'yesterday' },
  { ...RICH, unknownField: 1 },
  { ...RICH, name: undefined },
  { role: 'tool', content: 'result', toolCallId: 'call_1', name: 'read_sensor' },
  { role: 'tool', content: 'result', toolCallId: '' },
  { role: 'user', content: 'hi', toolCallId: 'call_1' },
  {
    role: 'user',
    content: [
      { type: 'text', text: 'a' },
      { type: 'image_url', image_url: { url: 'https://example.com/a.png' } },
    ],
  },
  { role: 'user', content: [{ text: 'no type' }] },
  { role: 'user', content: [{ type: '' }] },
  { role: 'user', content: [{ type: 'x'.repeat(101) }] },
  { role: 'user', content: [{ type: 'text', text: '\u0000' }] },
  { role: 'user', content: ['text'] },
  { role: 'user', content: [] },
  'hello',
  null,
  undefined,
  7,
];

describe('the message shape', () => {
  it('takes the common message without the schema, with the verdict the schema gives, for every input', () => {
    expectSameVerdicts(
      CASES,
      (input) => parseMessage(input, 'message'),
      (input) => parseInput(messageInput, input, 'message'),
      ['metadata', 'toolCalls', 'extra', 'content'],
    );
  });

  it('vouches by itself for the messages frameworks send (zod is the exception, not the rule)', () => {
    const common = [
      { role: 'user', content: 'hello' },
      RICH,
      { role: 'tool', content: 'result', toolCallId: 'call_1', name: 'read_sensor' },
      { role: 'user', content: [{ type: 'text', text: 'a' }], metadata: { a: 1 }, createdAt: new Date() },
    ];
    for (const message of common) expect(plainMessage(message), JSON.stringify(message)).toBeDefined();
  });
});
