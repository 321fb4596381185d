import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemory, loadConfig } from '../../src/index.js';
import { runCli } from '../harness/cli.js';
import { type PgCluster, startCluster, TEST_PASSWORD } from '../harness/postgres.js';
import { migrateAll } from '../harness/router-cluster.js';

/**
 * A database in the replaced system's layout: naive timestamps, transcripts
 * re-appended on every save, both settings tables, 1536-dimension embeddings,
 * and a few atoms its schema allowed but ours does not.
 */
const LEGACY = `
CREATE EXTENSION IF NOT EXISTS vector;
CREATE TABLE session_memories (
  id serial PRIMARY KEY, session_id text NOT NULL, user_id text, memory_type text NOT NULL,
  content text NOT NULL, metadata jsonb DEFAULT '{}', created_at timestamp DEFAULT now());
CREATE TABLE knowledge_atoms (
  id serial PRIMARY KEY, atom_id text UNIQUE, atom_type text, title text, summary text, content text,
  manufacturer text, product_family text, product_version text, difficulty text, prerequisites text[],
  related_atoms text[], source_document text, source_pages text, source_url text, quality_score numeric,
  safety_level text, safety_notes text, keywords text[], embedding vector(1536), citations jsonb,
  created_at timestamp DEFAULT now(), last_validated_at timestamp);
CREATE TABLE settings (setting_key text PRIMARY KEY, setting_value text, category text, description text);
CREATE TABLE agent_factory_settings (category text, key text, value text, description text, PRIMARY KEY (category, key));

-- Session s-1 saved three times: each save re-appended the whole transcript.
INSERT INTO session_memories (session_id, user_id, memory_type, content, metadata, created_at) VALUES
  ('s-1', 'alice', 'session_metadata', '{"title": "Pump noise"}', '{}', '2025-03-01 09:00:00'),
  ('s-1', 'alice', 'message_user', 'The pump sounds like gravel', '{"message_index": 0}', '2025-03-01 09:00:01'),
  ('s-1', 'alice', 'message_assistant', 'That is cavitation: check the suction side.', '{"message_index": 1}', '2025-03-01 09:00:05'),
  ('s-1', 'alice', 'message_user', 'The pump sounds like gravel', '{"message_index": 0}', '2025-03-01 09:05:00'),
  ('s-1', 'alice', 'message_assistant', 'That is cavitation: check the suction side.', '{"message_index": 1}', '2025-03-01 09:05:00'),
  ('s-1', 'alice', 'message_user', 'Strainer was clogged, thanks', '{"message_index": 2}', '2025-03-01 09:10:00'),
  ('s-1', 'alice', 'message_user', 'The pump sounds like gravel', '{"message_index": 0}', '2025-03-01 09:11:00'),
  ('s-1', 'alice', 'message_assistant', 'That is cavitation: check the suction side.', '{"message_index": 1}', '2025-03-01 09:11:00'),
  ('s-1', 'alice', 'message_user', 'Strainer was clogged, thanks', '{"message_index": 2}', '2025-03-01 09:11:00'),
  ('s-1', 'alice', 'decision', '{"decision": "clean strainers weekly"}', '{}', '2025-03-01 09:12:00'),
  ('s-2', 'bob', 'message_system', 'You are terse.', '{"message_index": 0}', '2025-03-02 10:00:00'),
  ('s-2', 'bob', 'message_user', 'Reset the VFD?', '{"message_index": 1}', '2025-03-02 10:00:02'),
  ('s-2', 'bob', 'log', 'user asked about VFD', '{}', '2025-03-02 10:00:03');

INSERT INTO knowledge_atoms (atom_id, atom_type, title, summary, content, keywords, quality_score, safety_level, embedding, citations, created_at) VALUES
  ('pump:cavitation', 'troubleshooting', 'Pump cavitation', 'Gravel noise', 'Low suction pressure makes vapour bubbles.', '{pump,noise}', 0.9, 'caution',
     array_fill(0.01::real, ARRAY[1536])::vector, '["Pump handbook p. 12"]', '2025-01-01 00:00:00'),
  ('vfd:reset', 'procedure', 'Reset a VFD fault', NULL, 'Find the cause before resetting.', '{vfd}', 0.8, 'danger', NULL, '[]', '2025-01-02 00:00:00'),
  ('BAD ID', 'procedure', 'Bad id', NULL, 'x', '{}', 0.5, NULL, NULL, '[]', now()),
  ('pump:odd', 'howto', 'Unknown type', NULL, 'x', '{}', 1.5, NULL, NULL, '[]', now());

INSERT INTO settings VALUES ('batch_size', '50', 'memory', 'rows per batch'), ('model', 'gpt-4o', 'llm', NULL);
INSERT INTO agent_factory_settings VALUES ('alerts', 'telegram_enabled', 'true', 'send alerts'), ('memory', 'retention_days', '30', NULL);
`;

let cluster: PgCluster;
let cwd: string;
beforeAll(async () => {
  cluster = await startCluster(2);
  await migrateAll({ ...cluster, servers: [cluster.servers[0]!] } as PgCluster);
  cluster.servers[1]!.psql('CREATE DATABASE legacy');
  cluster.servers[1]!.psql(LEGACY, 'legacy');
  cwd = mkdtempSync(join(tmpdir(), 'agentmem-legacy-'));
  writeFileSync(
    join(cwd, 'agentmem.config.json'),
    JSON.stringify({ providers: [{ name: 'main', url: cluster.servers[0]!.url() }], tenant: 'imported' }),
  );
});
afterAll(async () => {
  await cluster?.stop();
});

describe('agentmem import legacy', () => {
  it('imports exactly once: duplicated transcripts collapsed, timestamps kept as UTC, invalid atoms reported', async () => {
    const from = cluster.servers[1]!.url({ database: 'legacy' });
    const dry = await runCli(['import', 'legacy', '--from', from, '--dry-run', '--json'], { cwd });
    const dryReport = JSON.parse(dry.stdout);
    expect(dryReport).toMatchObject({
      dryRun: true,
      sessions: { read: 2, imported: 0 },
      messages: { read: 10, duplicates: 5 },
      atoms: { read: 4 },
    });
    expect(dry.stdout).not.toContain(TEST_PASSWORD);

    const first = await runCli(['import', 'legacy', '--from', from, '--json'], { cwd });
    expect(first.code).toBe(1); // two atoms were invalid
    const report = JSON.parse(first.stdout);
    expect(report.sessions).toEqual({ read: 2, imported: 2, existing: 0 });
    expect(report.messages).toEqual({ read: 10, imported: 5, existing: 0, duplicates: 5 });
    expect(report.memories).toEqual({ read: 2, imported: 2, existing: 0 });
    expect(report.atoms).toMatchObject({ read: 4, imported: 2, existing: 0 });
    expect(report.atoms.invalid.map((i: { atomId: string }) => i.atomId)).toEqual(['BAD ID', 'pump:odd']);
    expect(report.atoms.invalid[1].reasons.join(' ')).toMatch(/atomType.*qualityScore|qualityScore.*atomType/s);
    expect(report.settings).toEqual({ read: 4, imported: 4, existing: 0 });

    const second = await runCli(['import', 'legacy', '--from', from, '--json'], { cwd });
    const again = JSON.parse(second.stdout);
    expect(again.sessions).toEqual({ read: 2, imported: 0, existing: 2 });
    expect(again.messages).toMatchObject({ imported: 0, existing: 5 });
    expect(again.memories).toEqual({ read: 2, imported: 0, existing: 2 });
    expect(again.atoms).toMatchObject({ imported: 0, existing: 2 });
    expect(again.settings).toEqual({ read: 4, imported: 0, existing: 4 });

    // What landed is exact.
    const config = await loadConfig({ cwd, env: {} });
    const memory = await createMemory({ config });
    try {
      const sessions = await memory.sessions.list();
      expect(sessions.map((s) => s.title ?? '').sort()).toEqual(['', 'Pump noise']);
      const pump = sessions.find((s) => s.title === 'Pump noise')!;
      expect(pump).toMatchObject({ userId: 'alice', startedAt: new Date('2025-03-01T09:00:00Z'), metadata: { legacy_session_id: 's-1' } });
      const transcript = await memory.sessions.getMessages(pump.id);
      expect(transcript.map((m) => [m.seq, m.role, m.content, m.createdAt.toISOString()])).toEqual([
        [0, 'user', 'The pump sounds like gravel', '2025-03-01T09:00:01.000Z'],
        [1, 'assistant', 'That is cavitation: check the suction side.', '2025-03-01T09:00:05.000Z'],
        [2, 'user', 'Strainer was clogged, thanks', '2025-03-01T09:10:00.000Z'],
      ]);
      const decision = await memory.memories.recall({ types: ['decision'] });
      expect(decision.map((d) => [d.content, d.createdAt.toISOString(), d.userId])).toEqual([
        [{ decision: 'clean strainers weekly' }, '2025-03-01T09:12:00.000Z', 'alice'],
      ]);
      expect(await memory.atoms.get('pump:cavitation')).toMatchObject({
        keywords: ['pump', 'noise'],
        embeddingDim: 384,
        citations: ['Pump handbook p. 12'],
      });
      expect(await memory.settings.getInt('memory', 'batch_size')).toBe(50);
      expect(await memory.settings.getBool('alerts', 'telegram_enabled')).toBe(true);
      expect(await memory.settings.getJSON('llm', 'model')).toBe('gpt-4o');
    } finally {
      await memory.close();
    }
  });
});
