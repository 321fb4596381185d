import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AgentMemory,
  AgentmemError,
  createMemory,
  type Embedder,
  EmbedderError,
  loadConfig,
  ValidationError,
} from '../../src/index.js';
import { runCli } from '../harness/cli.js';
import { useCluster } from '../harness/router-cluster.js';

/**
 * Generated hostile values at every public entry point, on a real server:
 * NUL bytes, lone surrogates, injection strings, numbers at type limits, deep
 * and huge JSON, Maps and class instances, wrong types. Each call either
 * succeeds or throws a typed AgentmemError — never a driver error, a
 * TypeError or a RangeError — and a call that throws leaves the database as
 * it was.
 */
const cluster = useCluster(1, { migrate: true });
let memory: AgentMemory;
let cwd: string;
let sessionId: string;
beforeAll(async () => {
  cwd = mkdtempSync(join(tmpdir(), 'agentmem-hostile-'));
  writeFileSync(join(cwd, 'agentmem.config.json'), JSON.stringify({ providers: [{ name: 'p1', url: cluster.servers[0]!.url() }] }));
  memory = await createMemory({ workers: false, config: await loadConfig({ cwd, env: {} }), tenant: 'hostile' });
  sessionId = (await memory.sessions.create({ title: 'target' })).id;
  await memory.atoms.upsert([{ atomId: 'pump:target', atomType: 'concept', title: 'Pump target', content: 'A target atom.' }]);
});
afterAll(async () => {
  await memory?.close();
});

const INJECTIONS = [
  "'; DROP TABLE agentmem.memories; --",
  '" OR 1=1 --',
  "1'); DELETE FROM agentmem.sessions WHERE ('1'='1",
  '$1',
  '\\',
  "%' OR tenant_id LIKE '%",
  'agentmem.sessions',
  '$$; SELECT pg_sleep(10); $$',
];

const deep = (depth: number): unknown => {
  let value: unknown = 'bottom';
  for (let i = 0; i < depth; i++) value = i % 2 ? [value] : { d: value };
  return value;
};

class Widget {
  x = 1;
}

/** Strings that break naive code: NUL, lone surrogates, injections, huge, empty, odd unicode. */
const hostileString = fc.oneof(
  fc.constantFrom(...INJECTIONS),
  fc.constantFrom('\u0000', 'a\u0000b', '\ud800', 'x\udfffy', '', ' ', '😀'.repeat(3), 'Ω≈ç√'),
  fc.string({ maxLength: 40 }),
  fc.constantFrom('x'.repeat(2_000_000)),
);

/** Any value at all: the above, numbers at type limits, deep and odd structures, wrong types. */
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  hostileString,
  fc.constantFrom(0, -1, 2 ** 31, -(2 ** 31) - 1, 2 ** 53 + 1, 1e39, -1e39, Number.NaN, Number.POSITIVE_INFINITY, 0.5, 1.5),
  fc.constantFrom(null, undefined, true, [], {}, 'x', 42),
  fc.constantFrom(deep(150), deep(5000), new Map([['a', 1]]), new Set([1]), new Widget(), new Date(), () => 1, 10n),
  fc.dictionary(hostileString, fc.oneof(hostileString, fc.integer()), { maxKeys: 3 }),
  fc.array(hostileString, { maxLength: 3 }),
);

async function rowCounts(): Promise<string> {
  return cluster.servers[0]!.psql(
    "SELECT (SELECT count(*) FROM agentmem.sessions) || '/' || (SELECT count(*) FROM agentmem.memories) || '/' || (SELECT count(*) FROM agentmem.knowledge_atoms) || '/' || (SELECT count(*) FROM agentmem.settings)",
  );
}

/** The property: a typed error (and nothing written) or a success. */
async function expectTypedOutcome(label: string, call: () => Promise<unknown>): Promise<void> {
  const before = await rowCounts();
  try {
    await call();
  } catch (error) {
    if (!(error instanceof AgentmemError)) throw new Error(`${label}: untyped ${(error as Error)?.name}: ${(error as Error)?.message}`);
    if (error.code === 'QUERY_FAILED') throw new Error(`${label}: reached SQL: ${error.message.slice(0, 200)}`);
    expect(await rowCounts(), `${label}: a failed call changed the database`).toBe(before);
  }
}

const entryPoints: [string, (v: unknown) => Promise<unknown>][] = [
  ['sessions.create', (v) => memory.sessions.create(v as never)],
  ['sessions.create({metadata})', (v) => memory.sessions.create({ metadata: v } as never)],
  ['sessions.create({title})', (v) => memory.sessions.create({ title: v } as never)],
  ['sessions.addMessage', (v) => memory.sessions.addMessage(sessionId, v as never)],
  ['sessions.addMessage({content})', (v) => memory.sessions.addMessage(sessionId, { role: 'user', content: v } as never)],
  ['sessions.addMessage({metadata})', (v) => memory.sessions.addMessage(sessionId, { role: 'user', content: 'x', metadata: v } as never)],
  ['sessions.addMessage(id)', (v) => memory.sessions.addMessage(v as never, { role: 'user', content: 'x' })],
  ['sessions.save', (v) => memory.sessions.save(v as never)],
  ['sessions.save({messages})', (v) => memory.sessions.save({ session: { id: sessionId }, messages: v } as never)],
  ['sessions.getMessages', (v) => memory.sessions.getMessages(sessionId, v as never)],
  ['sessions.export', (v) => memory.sessions.export(sessionId, v as never)],
  ['sessions.list', (v) => memory.sessions.list(v as never)],
  ['memories.remember', (v) => memory.memories.remember(v as never)],
  ['memories.remember({content})', (v) => memory.memories.remember({ type: 'log', content: v } as never)],
  ['memories.remember({importance})', (v) => memory.memories.remember({ type: 'log', content: 'x', importance: v } as never)],
  ['memories.recall', (v) => memory.memories.recall(v as never)],
  ['memories.recall({text})', (v) => memory.memories.recall({ text: v } as never)],
  ['memories.get', (v) => memory.memories.get(v as never)],
  ['memories.forget', (v) => memory.memories.forget(v as never)],
  ['atoms.upsert', (v) => memory.atoms.upsert(v as never)],
  ['atoms.upsert([atom])', (v) => memory.atoms.upsert([v] as never)],
  [
    'atoms.upsert({sourceUrl})',
    (v) => memory.atoms.upsert([{ atomId: 'pump:u', atomType: 'concept', title: 't', content: 'c', sourceUrl: v }] as never),
  ],
  ['atoms.search', (v) => memory.atoms.search(v as never)],
  ['atoms.search({filter.metadata})', (v) => memory.atoms.search('pump', { mode: 'text', filter: { metadata: v } } as never)],
  ['atoms.count', (v) => memory.atoms.count(v as never)],
  ['atoms.count({metadata})', (v) => memory.atoms.count({ metadata: v } as never)],
  ['atoms.get', (v) => memory.atoms.get(v as never)],
  ['settings.set(value)', (v) => memory.settings.set('hostile', 'key', v)],
  ['settings.set(category)', (v) => memory.settings.set(v as never, 'key', 1)],
  ['settings.get', (v) => memory.settings.get(v as never, 'key')],
];

describe('hostile input at every public entry point (property-based)', () => {
  for (const [label, call] of entryPoints) {
    it(label, async () => {
      await fc.assert(
        fc.asyncProperty(hostileValue, (value) => expectTypedOutcome(label, () => call(value))),
        { numRuns: 25, seed: 4242, endOnFailure: true },
      );
    });
  }

  it('what embedders return is checked before SQL: NaN, Infinity, 1e39, the wrong dimension, too few vectors', async () => {
    const config = await loadConfig({ cwd, env: {} });
    const broken = (vectors: (texts: string[]) => unknown): Embedder => ({
      model: 'broken',
      dimensions: 384,
      embed: async (texts) => vectors(texts) as number[][],
    });
    const cases: [string, (texts: string[]) => unknown][] = [
      ['NaN', (t) => t.map(() => Array(384).fill(Number.NaN))],
      ['Infinity', (t) => t.map(() => Array(384).fill(Number.POSITIVE_INFINITY))],
      ['1e39', (t) => t.map(() => Array(384).fill(1e39))],
      ['wrong dimension', (t) => t.map(() => Array(12).fill(0.1))],
      ['too few vectors', () => []],
      ['not a list', () => 'oops'],
    ];
    for (const [name, vectors] of cases) {
      const m = await createMemory({ workers: false, config, tenant: 'hostile', embedder: broken(vectors) });
      try {
        const before = await rowCounts();
        await expect(
          m.atoms.upsert([{ atomId: 'pump:bad-vector', atomType: 'concept', title: 't', content: 'c' }]),
          name,
        ).rejects.toBeInstanceOf(EmbedderError);
        await expect(m.atoms.search('pump', { mode: 'vector' }), name).rejects.toBeInstanceOf(EmbedderError);
        expect(await rowCounts()).toBe(before);
      } finally {
        await m.close();
      }
    }
  });

  it('a Map is refused, not stored as {}; deep JSON gets a clear error, not a stack overflow', async () => {
    await expect(memory.memories.remember({ type: 'log', content: new Map([['k', 'v']]) as never })).rejects.toBeInstanceOf(
      ValidationError,
    );
    await expect(memory.memories.remember({ type: 'log', content: deep(5000) as never })).rejects.toThrow(/nested more than 100 levels/);
    await expect(memory.sessions.save(null as never)).rejects.toBeInstanceOf(ValidationError);
    await expect(memory.sessions.save({ session: { id: sessionId }, messages: 'x' } as never)).rejects.toBeInstanceOf(ValidationError);
    await expect(memory.atoms.upsert('x' as never)).rejects.toBeInstanceOf(ValidationError);
    await expect(memory.sessions.export(sessionId, 'xml' as never)).rejects.toBeInstanceOf(ValidationError);
  });
});

describe('hostile input on the command line', () => {
  it('atoms validate and atoms import agree atom by atom: one bad atom is reported, the others land', async () => {
    const file = join(cwd, 'atoms.jsonl');
    writeFileSync(
      file,
      [
        { atom_id: 'pump:good-one', atom_type: 'concept', title: 'Good one', content: 'fine' },
        { atom_id: 'pump:nul-url', atom_type: 'concept', title: 'Bad URL', content: 'x', source_url: 'https://example.com/\u0000x' },
        { atom_id: 'pump:good-two', atom_type: 'fault', title: 'Good two', content: 'fine too' },
      ]
        .map((a) => JSON.stringify(a))
        .join('\n'),
    );
    const validate = await runCli(['atoms', 'validate', file, '--json'], { cwd });
    expect(validate.code).toBe(1);
    const report = JSON.parse(validate.stdout);
    expect(report.invalid.map((i: { index: number }) => i.index)).toEqual([1]);
    const imported = await runCli(['atoms', 'import', file, '--json'], { cwd });
    expect(imported.code).toBe(1);
    const result = JSON.parse(imported.stdout);
    expect(result.invalid.map((i: { atomId: string }) => i.atomId)).toEqual(['pump:nul-url']);
    expect(result.inserted).toBe(2);
  });

  const deepJson = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
  const cases: [string, string[]][] = [
    ['deep JSON content', ['memory', 'add', '--type', 'log', '--content', deepJson]],
    ['NUL-free but lone surrogate content', ['memory', 'add', '--type', 'log', '--content', '"\\ud800"']],
    ['unknown memory type', ['memory', 'add', '--type', 'x; DROP TABLE', '--content', 'x']],
    ['deep JSON setting', ['settings', 'set', 'a', 'b', `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`]],
    ['bad setting name', ['settings', 'set', "a'; --", 'b', '1']],
    ['export format', ['session', 'export', '00000000-0000-0000-0000-000000000000', '--format', 'xml']],
    ['session id', ['session', 'show', "1' OR '1'='1"]],
    ['sla days', ['sla', '--days', '999999999']],
    ['monitor log level', ['monitor', '--log-level', 'bogus']],
    ['monitor interval', ['monitor', '--interval', '30d']],
    ['health watch', ['health', '--watch', '3000000']],
    ['purge duration', ['sync', 'purge', '--older-than', 'soon']],
    ['atoms search empty', ['atoms', 'search', '']],
    ['migrate to', ['migrate', 'up', '--to', '-3']],
  ];
  for (const [name, args] of cases) {
    it(`${name}: exit 2, one line, no stack`, async () => {
      const before = await rowCounts();
      const result = await runCli(args, { cwd });
      expect(result.code, result.stderr).toBe(2);
      const lines = result.stderr.trim().split('\n').filter(Boolean);
      expect(lines.length, result.stderr).toBeLessThanOrEqual(2); // commander adds "(run with --help for usage)"
      expect(result.stderr).not.toMatch(/^\s+at /m);
      expect(await rowCounts()).toBe(before);
    });
  }
});
