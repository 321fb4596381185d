import { describe, expect, it } from 'vitest';
import { messageInput, parseMessage } from '../../src/memory/message-model.js';
import { parseInput } from '../../src/memory/validation.js';

/** The verdict of a parse: its output, or the error it throws. */
const verdict = (parse: () => unknown) => {
  try {
    return { ok: parse() };
  } catch (error) {
    return { error: (error as Error).message };
  }
};

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

const CASES: unknown[] = [
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
  'hello',
  null,
  undefined,
  7,
];

describe('the message shape', () => {
  it('takes the common message without the schema, with the verdict the schema gives, for every input', () => {
    for (const input of CASES) {
      const fast = verdict(() => parseMessage(input, 'message'));
      const schema = verdict(() => parseInput(messageInput, input, 'message'));
      expect(fast, JSON.stringify(input) ?? String(input)).toEqual(schema);
    }
  });
});
