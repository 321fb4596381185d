/**
 * `atoms import` streams its file: a JSON list, a `{"atoms": [...]}` document
 * and JSON Lines are read entry by entry (split across chunks anywhere),
 * imported in batches, each atom reported where it was; a duplicate id is
 * caught across batches. The CLI shows how far it got (rows/s, time left) on
 * stderr, as JSON Lines with --json, and keeps stdout for the report.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentMemory, createMemory, loadConfig } from '../../src/index.js';
import { importAtoms, streamAtomEntries } from '../../src/memory/index.js';
import { runCli } from '../harness/cli.js';

const atom = (i: number) => ({ atomId: `stream:${i}`, atomType: 'concept', title: `Atom ${i}`, content: `About valve ${i}.` });
const ATOMS = Array.from({ length: 25 }, (_, i) => atom(i));

/** A text in chunks of `size` characters: entries, lines and strings split anywhere. */
async function* chunked(text: string, size: number): AsyncGenerator<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  for (let at = 0; at < bytes.length; at += size) yield bytes.slice(at, at + size);
}

const entries = async (text: string, size = 7) => {
  const out = [];
  for await (const entry of streamAtomEntries(chunked(text, size))) out.push(entry);
  return out;
};

let cwd: string;
let memory: AgentMemory;
beforeAll(async () => {
  cwd = mkdtempSync(join(tmpdir(), 'agentmem-atoms-stream-'));
  memory = await createMemory({ config: await loadConfig({ cwd, env: {} }), workers: false });
});
afterAll(async () => {
  await memory?.close();
});

describe('streamed atoms files', () => {
  it('reads a list, a wrapped document and JSON Lines alike, split anywhere; bad JSON is named', async () => {
    const list = await entries(JSON.stringify(ATOMS, null, 2));
    const wrapped = await entries(JSON.stringify({ atoms: ATOMS }, null, 2), 3);
    const oneLine = await entries(JSON.stringify({ atoms: ATOMS }));
    const lines = await entries(`${ATOMS.map((a) => JSON.stringify(a)).join('\n')}\n\n{not json}\n`, 11);
    for (const read of [list, wrapped, oneLine]) expect(read.map((e) => e.value)).toEqual(ATOMS);
    expect(lines.slice(0, 25).map((e) => [e.line, e.value])).toEqual(ATOMS.map((a, i) => [i + 1, a]));
    expect(lines[25]).toMatchObject({ index: 25, line: 27, parseError: expect.any(String) });
    expect(list.at(-1)?.bytes).toBe(Buffer.byteLength(JSON.stringify(ATOMS, null, 2)));
    // A first line longer than a chunk (an atom of 100 KB) is still JSON Lines.
    const big = { ...atom(99), content: 'x'.repeat(100_000) };
    expect((await entries(`${JSON.stringify(big)}\n${JSON.stringify(atom(98))}\n`, 4096)).map((e) => e.value)).toEqual([big, atom(98)]);
    await expect(entries('[{"atomId": "x"')).rejects.toThrow(/not valid JSON/);
    await expect(entries(JSON.stringify(atom(1), null, 2))).rejects.toThrow(/expected a list of atoms/);
  });

  it('imports in batches: counts add up, invalid atoms and duplicates across batches are reported where they are', async () => {
    const withProblems = [...ATOMS, { atomId: 'stream:bad', atomType: 'nonsense', title: 'x', content: 'y' }, atom(3)];
    const progress: number[] = [];
    const report = await importAtoms(memory.atoms, streamAtomEntries(chunked(JSON.stringify(withProblems), 64)), {
      batchSize: 4,
      onProgress: ({ read }) => progress.push(read),
    });
    expect(report).toMatchObject({ total: 27, inserted: 25, updated: 0, unchanged: 0 });
    expect(report.invalid.map((i) => [i.index, i.atomId, i.issues[0]?.field])).toEqual([
      [25, 'stream:bad', 'atomType'],
      [26, 'stream:3', 'atomId'],
    ]);
    expect(progress).toEqual([4, 8, 12, 16, 20, 24, 27]);
    expect((await memory.atoms.get('stream:24'))?.title).toBe('Atom 24');
    // Run again (as after an interruption): nothing changes.
    const again = await importAtoms(memory.atoms, streamAtomEntries(chunked(JSON.stringify(ATOMS), 64)), { batchSize: 10 });
    expect(again).toMatchObject({ total: 25, inserted: 0, unchanged: 25 });
  });

  it('agentmem atoms import streams a file or stdin and reports progress on stderr (JSON Lines with --json)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agentmem-atoms-cli-'));
    const file = join(dir, 'atoms.json');
    writeFileSync(file, JSON.stringify({ atoms: Array.from({ length: 1200 }, (_, i) => atom(1000 + i)) }, null, 1));
    const imported = await runCli(['atoms', 'import', file, '--json'], { cwd: dir, timeoutMs: 180_000 });
    expect(imported.code, imported.stderr).toBe(0);
    expect(JSON.parse(imported.stdout)).toMatchObject({ total: 1200, inserted: 1200 });
    const events = imported.stderr
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { progress?: { label: string; done: number; perSecond: number; final: boolean } })
      .flatMap((event) => (event.progress ? [event.progress] : [])); // (log lines are JSON too with --json)
    expect(events.at(-1)).toMatchObject({ label: 'atoms imported', done: 1200, final: true });
    expect(events.every((e) => e.perSecond >= 0)).toBe(true);
    const missing = await runCli(['atoms', 'import', join(dir, 'nope.json')], { cwd: dir });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot read/);
  });
});
