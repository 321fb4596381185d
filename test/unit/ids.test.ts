import { v5 as uuidv5 } from 'uuid';
import { describe, expect, it } from 'vitest';
import { idForKey } from '../../src/core/ids.js';

describe('idForKey', () => {
  it('gives the ids it always gave: the uuid package’s v5 of the same name, for any text', () => {
    const namespace = '6f1d9a52-6c0e-4d35-9f49-2f4a7c1f8e21';
    const names: [string, string, string][] = [
      ['', 'memory', ''],
      ['acme', 'atom', 'gen:pump-seal-1'],
      ['t', 'message', '4b2c3f4e-1111-4222-8333-444455556666\u0000ext-7'],
      ['tenant/ü', 'session', 'thread 東京 🚀 ∑'],
      ['x'.repeat(300), 'memory', `decision\u0000u1\u0000${'ab'.repeat(32)}`],
    ];
    for (let i = 0; i < 200; i++)
      names.push([
        `t${i}`,
        'atom',
        String.fromCodePoint(...Array.from({ length: i % 40 }, (_, k) => 32 + ((i * 7919 + k * 104729) % 0x2ffff))),
      ]);
    for (const [tenant, kind, key] of names) {
      if (!key.isWellFormed()) continue;
      expect(idForKey(tenant, kind, key)).toBe(uuidv5(`${tenant}\u0000${kind}\u0000${key}`, namespace));
    }
    // Persisted ids: a change here would make a second row of every atom, fact and external message id.
    expect(idForKey('acme', 'atom', 'gen:pump-seal-1')).toBe('2e5641d9-8338-57ce-9351-82c2aa84e6e0');
  });
});
