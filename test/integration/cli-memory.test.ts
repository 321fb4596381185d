import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { LocalHashEmbedder } from '../../src/ops/index.js';
import { runCli } from '../harness/cli.js';

/** The memory commands, run as a user would, on the embedded default. */
let cwd: string;
beforeAll(() => {
  cwd = mkdtempSync(join(tmpdir(), 'agentmem-cli-memory-'));
});
const cli = (...args: string[]) => runCli(args, { cwd });
const json = (text: string) => JSON.parse(text);

describe('agentmem memory commands on the embedded default', () => {
  it('demo runs on a fresh directory and prints readable results; --json prints one document', async () => {
    const demo = await cli('demo');
    expect(demo.code).toBe(0);
    expect(demo.stdout).toMatch(/session [0-9a-f-]{36}: 5 messages saved/);
    expect(demo.stdout).toMatch(/knowledge atoms: 10 read, 10 new/);
    // Ten atoms: below search.exactThreshold, so the vector half is an exact pgvector scan.
    expect(demo.stdout).toMatch(/mode hybrid, vector search: exact-pgvector/);
    expect(demo.stdout).toMatch(/motor:overheating-causes/);
    const again = await cli('demo', '--json');
    expect(again.code).toBe(0);
    const doc = json(again.stdout);
    expect(doc.atoms).toMatchObject({ total: 10, inserted: 0, unchanged: 10 });
    expect(doc.searches.map((s: { mode: string }) => s.mode)).toEqual(['text', 'vector', 'hybrid']);
    expect(doc.session.messages).toHaveLength(5);
  });

  it('session list, show and export', async () => {
    const list = await cli('session', 'list', '--json', '--agent', 'maintenance-assistant');
    expect(list.code).toBe(0);
    const sessions = json(list.stdout);
    expect(sessions.length).toBe(2);
    const show = await cli('session', 'show', sessions[0].id);
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/\[0\] .* system +You are a maintenance assistant/);
    const openai = json((await cli('session', 'export', sessions[0].id, '--format', 'openai')).stdout);
    expect(openai[1]).toEqual({ role: 'user', content: expect.stringContaining('conveyor motor') });
    const missing = await cli('session', 'show', '01a20ebd-c85c-7410-92f4-e909b9e06e03');
    expect(missing.code).toBe(1);
    const badId = await cli('session', 'show', 'not-a-uuid');
    expect(badId.code).toBe(2);
    expect(badId.stderr).toMatch(/session id/);
  });

  it('session import, export in every format, clear, delete and restore', async () => {
    const transcript = join(cwd, 'openai.json');
    const messages = [
      { role: 'system', content: 'be brief' },
      { role: 'user', content: 'weather in Paris?', name: 'dana' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } }],
      },
      { role: 'tool', tool_call_id: 'call_1', content: '18C' },
      { role: 'assistant', content: 'It is 18C.' },
    ];
    writeFileSync(transcript, JSON.stringify(messages));
    const imported = await cli('session', 'import', transcript, '--format', 'openai', '--external-id', 'thread-cli', '--json');
    expect(imported.code).toBe(0);
    const { sessionId, inserted } = json(imported.stdout);
    expect(inserted).toBe(5);
    expect(
      json((await cli('session', 'import', transcript, '--format', 'openai', '--external-id', 'thread-cli', '--json')).stdout),
    ).toMatchObject({
      sessionId,
      inserted: 0,
      existing: 5,
    });
    expect(json((await cli('session', 'export', sessionId, '--format', 'openai')).stdout)).toEqual(messages);
    const anthropic = json((await cli('session', 'export', sessionId, '--format', 'anthropic')).stdout);
    expect(anthropic.system).toBe('be brief');
    expect(anthropic.messages[2]).toEqual({ role: 'user', content: [{ type: 'tool_result', tool_use_id: 'call_1', content: '18C' }] });
    const langchain = json((await cli('session', 'export', sessionId, '--format', 'langchain')).stdout);
    expect(langchain.map((m: { type: string }) => m.type)).toEqual(['system', 'human', 'ai', 'tool', 'ai']);
    const show = await cli('session', 'show', sessionId);
    expect(show.stdout).toMatch(/assistant .*-> weather#call_1\(\{"city":"Paris"\}\)/);
    expect(show.stdout).toMatch(/tool +\[answers call_1\] 18C/);
    const badJson = join(cwd, 'bad.json');
    writeFileSync(badJson, '{ not json');
    expect((await cli('session', 'import', badJson, '--format', 'openai')).code).toBe(2);
    expect((await cli('session', 'clear', sessionId)).code).toBe(2);
    expect(json((await cli('session', 'clear', sessionId, '--yes', '--json')).stdout)).toEqual({ sessionId, removed: 5 });
    expect((await cli('session', 'delete', sessionId, '--yes')).code).toBe(0);
    const recreate = await cli('session', 'import', transcript, '--format', 'openai', '--external-id', 'thread-cli');
    expect(recreate.code).toBe(1);
    expect(recreate.stderr).toMatch(/was deleted; restore it/);
    expect((await cli('session', 'restore', sessionId)).code).toBe(0);
    expect(
      json((await cli('session', 'import', transcript, '--format', 'openai', '--external-id', 'thread-cli', '--json')).stdout).inserted,
    ).toBe(5);
  });

  it('memory add and search, with validation errors as exit 2', async () => {
    const added = await cli(
      'memory',
      'add',
      '--type',
      'decision',
      '--content',
      '{"decision":"switch to nightly backups"}',
      '--importance',
      '0.7',
      '--json',
    );
    expect(added.code).toBe(0);
    const { id } = json(added.stdout);
    const found = json((await cli('memory', 'search', '--text', 'nightly backups', '--json')).stdout);
    expect(found.map((m: { id: string }) => m.id)).toContain(id);
    const byType = json((await cli('memory', 'search', '--type', 'decision', '--limit', '10', '--json')).stdout);
    expect(byType.every((m: { type: string }) => m.type === 'decision')).toBe(true);
    const bad = await cli('memory', 'add', '--type', 'session_memory', '--content', 'x');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/type/);
  });

  it('atoms validate, import (with a per-atom report) and search', async () => {
    const file = join(cwd, 'atoms.jsonl');
    writeFileSync(
      file,
      [
        JSON.stringify({
          atom_id: 'hvac:filter-change',
          atom_type: 'procedure',
          title: 'Change an air handler filter',
          content: 'Switch the fan off, slide the old filter out, note the airflow arrow, fit the new one.',
        }),
        JSON.stringify({ atom_id: 'hvac:bad', atom_type: 'unknown', title: 'x', content: 'y' }),
      ].join('\n'),
    );
    const validate = await cli('atoms', 'validate', file, '--json');
    expect(validate.code).toBe(1);
    expect(json(validate.stdout)).toMatchObject({ total: 2, valid: 1 });
    const dry = await cli('atoms', 'import', file, '--dry-run', '--json');
    expect(json(dry.stdout)).toMatchObject({ dryRun: true, inserted: 0 });
    const imported = await cli('atoms', 'import', file, '--json');
    expect(imported.code).toBe(1); // one atom was invalid
    const report = json(imported.stdout);
    expect(report).toMatchObject({ total: 2, inserted: 1 });
    expect(report.invalid[0]).toMatchObject({ line: 2, atomId: 'hvac:bad' });
    const search = await cli('atoms', 'search', 'replace air filter', '--mode', 'hybrid', '--limit', '3', '--json');
    expect(search.code).toBe(0);
    expect(json(search.stdout).results[0].atom.atomId).toBe('hvac:filter-change');
    const text = await cli('atoms', 'search', 'cavitation', '--mode', 'text');
    expect(text.stdout).toMatch(/pump:cavitation/);
    // A large first import can set the vector index aside and build it at the end; the schema stays as migrated.
    const deferred = join(cwd, 'deferred.jsonl');
    writeFileSync(
      deferred,
      Array.from({ length: 20 }, (_, i) =>
        JSON.stringify({
          atom_id: `hvac:belt-${i}`,
          atom_type: 'procedure',
          title: `Belt check ${i}`,
          content: `Check belt ${i} tension.`,
        }),
      ).join('\n'),
    );
    const bulk = await cli('atoms', 'import', deferred, '--defer-index');
    expect(bulk.code).toBe(0);
    expect(bulk.stderr).toMatch(/vector index is set aside/);
    expect(bulk.stdout).toMatch(/imported 20 \(20 new/);
    expect((await cli('schema', 'diff')).code).toBe(0);
    const found = json((await cli('atoms', 'search', 'belt 7 tension', '--mode', 'vector', '--json')).stdout);
    expect(found.results.map((r: { atom: { atomId: string } }) => r.atom.atomId)).toContain('hvac:belt-7');
    // An atom may bring its embedding (from the configured model: the default local one here); it is stored as given.
    const [vector] = await new LocalHashEmbedder(384).embed(['refrigerant leak detection']);
    const own = join(cwd, 'own-vectors.jsonl');
    writeFileSync(
      own,
      [
        JSON.stringify({
          atom_id: 'hvac:own-vector',
          atom_type: 'concept',
          title: 'Brought along',
          content: 'Unrelated words.',
          embedding: vector,
        }),
        JSON.stringify({ atom_id: 'hvac:short-vector', atom_type: 'concept', title: 'Too short', content: 'x', embedding: [0.5, 0.5] }),
      ].join('\n'),
    );
    const ownImport = await cli('atoms', 'import', own, '--json');
    expect(ownImport.code).toBe(1);
    expect(json(ownImport.stdout)).toMatchObject({
      inserted: 1,
      invalid: [{ atomId: 'hvac:short-vector', issues: [{ field: 'embedding' }] }],
    });
    const nearest = json((await cli('atoms', 'search', 'refrigerant leak detection', '--mode', 'vector', '--limit', '1', '--json')).stdout);
    expect(nearest.results[0].atom.atomId).toBe('hvac:own-vector');
  });

  it('settings set, get and list', async () => {
    expect((await cli('settings', 'set', 'memory', 'batch_size', '50', '--description', 'rows per batch')).code).toBe(0);
    expect((await cli('settings', 'set', 'alerts', 'channel', 'telegram')).code).toBe(0);
    const got = await cli('settings', 'get', 'memory', 'batch_size', '--json');
    expect(json(got.stdout)).toEqual({ category: 'memory', key: 'batch_size', value: 50, found: true });
    expect((await cli('settings', 'get', 'alerts', 'channel')).stdout.trim()).toBe('telegram');
    const missing = await cli('settings', 'get', 'alerts', 'missing');
    expect(missing.code).toBe(1);
    const list = json((await cli('settings', 'list', '--json')).stdout);
    expect(list.map((s: { category: string; key: string }) => `${s.category}.${s.key}`)).toEqual(['alerts.channel', 'memory.batch_size']);
  });

  it('working memory get and update, and extract status, as a user would run them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agentmem-cli-working-'));
    const run = (...args: string[]) => runCli(args, { cwd: dir });
    expect((await run('working-memory', 'get', '--user', 'u1')).stdout.trim()).toBe('(empty)');
    expect((await run('working-memory', 'update', '{"diet":"vegetarian","city":"Porto"}', '--user', 'u1')).code).toBe(0);
    expect((await run('working-memory', 'update', '{"city":null}', '--user', 'u1')).code).toBe(0);
    expect(json((await run('working-memory', 'get', '--user', 'u1', '--json')).stdout)).toMatchObject({ content: { diet: 'vegetarian' } });
    const both = await run('working-memory', 'get', '--user', 'u1', '--session', '9b2f6a84-7d1e-4c1a-9f43-7f7c1c4d2e10');
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/name one scope/);
    const status = await run('extract', 'status', '--json');
    expect(status.code).toBe(0);
    expect(json(status.stdout)).toEqual({
      pending: { extraction: 0, summary: 0 },
      extraction: { enabled: false },
      summaries: { enabled: false },
    });
  });

  it('recall by meaning: embeddings status and run, memory search with a query, session search with the turns around a hit', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agentmem-cli-recall-'));
    const run = (...args: string[]) => runCli(args, { cwd: dir });
    await run('memory', 'add', '--type', 'decision', '--content', 'Nightly backups move to 02:00 UTC', '--user', 'u1');
    await run('memory', 'add', '--type', 'log', '--content', 'cron ran at 02:00', '--user', 'u1');
    writeFileSync(
      join(dir, 'chat.json'),
      JSON.stringify([
        { role: 'system', content: 'You help with orders.' },
        { role: 'user', content: 'Hello' },
        { role: 'assistant', content: 'Hi, how can I help?' },
        { role: 'user', content: 'My parcel never arrived' },
        { role: 'assistant', content: 'Let me look that up.' },
      ]),
    );
    const imported = json((await run('session', 'import', join(dir, 'chat.json'), '--format', 'openai', '--json')).stdout);
    const before = await run('embeddings', 'status', '--json');
    expect(before.code).toBe(0);
    // The decision and the four user and assistant turns; not the log, not the system message.
    expect(json(before.stdout)).toMatchObject({ waiting: 5, failing: 0, mode: 'worker', embedder: { matches: 'words' } });
    const human = await run('embeddings', 'status');
    expect(human.stdout).toMatch(/matches words and spellings, not meaning/);
    const ran = await run('embeddings', 'run', '--json');
    expect(ran.code).toBe(0);
    expect(json(ran.stdout)).toMatchObject({ embedded: 5, waiting: 0 });
    const said = await run('session', 'search', 'parcel arrived', '--session', imported.sessionId, '--around', '1');
    expect(said.code).toBe(0);
    expect(said.stdout).toMatch(/> +\[3\] .* user +My parcel never arrived/);
    expect(said.stdout).toMatch(/ +\[2\] .* assistant +Hi, how can I help\?/);
    const found = json((await run('memory', 'search', 'backup schedule', '--user', 'u1', '--json')).stdout);
    expect(found.mode).toBe('hybrid');
    expect(found.hits.map((h: { memory: { content: string } }) => h.memory.content)).toEqual(['Nightly backups move to 02:00 UTC']);
    expect(found.hits[0].vectorRank).toBe(1);
    const table = await run('memory', 'search', 'nightly backups', '--mode', 'text');
    expect(table.stdout).toMatch(/text #1/);
    // The old filter listing, without a query, still answers.
    expect(json((await run('memory', 'search', '--type', 'log', '--json')).stdout)).toHaveLength(1);
    const bad = await run('memory', 'search', '   ');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/search query: must not be empty or blank/);
  });
});
