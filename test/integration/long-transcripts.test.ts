/**
 * Long transcripts go in whole: a session saved (or imported) with 100,000
 * messages on a server and on the embedded database, inside the statement
 * timeout, every message counted and in order; saving it again adds nothing
 * (an interrupted save can be run again). The CLI's `session import` of such a
 * file too. A batch append past one statement's size goes in one transaction.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type AgentMemory, createMemory, loadConfig, type MessageInput } from '../../src/index.js';
import { runCli } from '../harness/cli.js';
import { useCluster } from '../harness/router-cluster.js';

const cluster = useCluster(1, { migrate: true });
const opened: AgentMemory[] = [];
afterAll(async () => {
  for (const memory of opened) await memory.close();
});

const transcript = (count: number): MessageInput[] =>
  Array.from({ length: count }, (_, i) => ({
    role: i % 2 ? 'assistant' : 'user',
    content: `turn ${i}: the pump on line ${i % 7} hums at ${100 + (i % 50)} Hz`,
  }));

async function open(backend: 'postgres' | 'pglite'): Promise<AgentMemory> {
  const cwd = mkdtempSync(join(tmpdir(), 'agentmem-long-'));
  const config = await loadConfig({
    cwd,
    env: {},
    overrides: backend === 'postgres' ? { providers: [{ name: 'main', url: cluster.servers[0]!.url() }] } : {},
  });
  const memory = await createMemory({ config, workers: false, migrate: true });
  opened.push(memory);
  return memory;
}

describe.each(['postgres', 'pglite'] as const)('long transcripts on %s', (backend) => {
  it('saves 100,000 messages in one call, counted and in order; saving again adds nothing', async () => {
    const memory = await open(backend);
    const messages = transcript(100_000).map((m) => ({ ...m, id: randomUUID() }));
    const id = randomUUID();
    const saved = await memory.sessions.save({ session: { id, title: 'a long day' }, messages });
    expect(saved).toMatchObject({ inserted: 100_000, existing: 0 });
    const newest = await memory.sessions.getMessages(id, { limit: 3 });
    expect(newest.map((m) => [m.seq, m.content])).toEqual([
      [99_997, messages[99_997]!.content],
      [99_998, messages[99_998]!.content],
      [99_999, messages[99_999]!.content],
    ]);
    // Run again (as after an interruption): nothing is written twice.
    expect(await memory.sessions.save({ session: { id, title: 'a long day' }, messages })).toMatchObject({
      inserted: 0,
      existing: 100_000,
    });
    // A message appended after it takes the next place.
    const next = await memory.sessions.addMessage(id, { role: 'user', content: 'and one more' });
    expect(next.seq).toBe(100_000);
  });

  it('appends a batch larger than one statement in one transaction, in order', async () => {
    const memory = await open(backend);
    const session = await memory.sessions.create({ title: 'batch' });
    await memory.sessions.addMessage(session.id, { role: 'system', content: 'start' });
    const result = await memory.sessions.addMessages(session.id, transcript(12_000));
    expect(result).toEqual({ inserted: 12_000, existing: 0 });
    const [first] = await memory.sessions.getMessages(session.id, { limit: 12_001 });
    const last = (await memory.sessions.getMessages(session.id, { limit: 1 }))[0];
    expect(first?.content).toBe('start');
    expect([last?.seq, last?.content]).toEqual([12_000, transcript(12_000)[11_999]!.content]);
  });
});

it('agentmem session import takes a 100,000-message transcript file', async () => {
  const cwd = mkdtempSync(join(tmpdir(), 'agentmem-long-cli-'));
  writeFileSync(join(cwd, 'agentmem.config.json'), JSON.stringify({ providers: [{ name: 'main', url: cluster.servers[0]!.url() }] }));
  const file = join(cwd, 'long.json');
  writeFileSync(file, JSON.stringify(transcript(100_000)));
  const imported = await runCli(['session', 'import', file, '--format', 'openai', '--external-id', 'long-thread', '--json'], { cwd });
  expect(imported.code, imported.stderr).toBe(0);
  expect(JSON.parse(imported.stdout)).toMatchObject({ inserted: 100_000 });
});
