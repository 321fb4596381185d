import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createMemory, loadConfig } from '../../src/index.js';
import { progressEvents, runCli } from '../harness/cli.js';
import { type PgCluster, TEST_PASSWORD } from '../harness/postgres.js';
import { migrateAll, useCluster } from '../harness/router-cluster.js';

/**
 * A database in the replaced system's real layout — the tables, columns,
 * types and constraints of its schema files (docs/database/supabase_complete_schema.sql
 * with the memory_type CHECK of scripts/ops/fix_neon_schema_constraint.sql,
 * agent_factory_settings, conversation_sessions) — holding rows in the shapes
 * its Python storage writes: a message keeps role, text, timestamp, metadata
 * and message_index inside the jsonb content (the metadata column unset),
 * every save re-inserts the whole transcript, one session_metadata row per
 * session, naive ISO timestamps.
 */
const LEGACY = `
SET TimeZone = 'UTC';
CREATE EXTENSION IF NOT EXISTS vector;
CREATE EXTENSION IF NOT EXISTS "uuid-ossp";

CREATE TABLE knowledge_atoms (
  id uuid PRIMARY KEY DEFAULT uuid_generate_v4(),
  atom_id text UNIQUE NOT NULL,
  atom_type text NOT NULL CHECK (atom_type IN ('concept', 'procedure', 'specification', 'pattern', 'fault', 'reference')),
  title text NOT NULL, summary text NOT NULL, content text NOT NULL,
  manufacturer text NOT NULL, product_family text, product_version text,
  difficulty text NOT NULL CHECK (difficulty IN ('beginner', 'intermediate', 'advanced', 'expert')),
  prerequisites text[] DEFAULT ARRAY[]::text[], related_atoms text[] DEFAULT ARRAY[]::text[],
  source_document text NOT NULL, source_pages integer[] NOT NULL, source_url text, citations jsonb DEFAULT '[]'::jsonb,
  quality_score double precision DEFAULT 1.0 CHECK (quality_score >= 0.0 AND quality_score <= 1.0),
  safety_level text DEFAULT 'info' CHECK (safety_level IN ('info', 'caution', 'warning', 'danger')), safety_notes text,
  keywords text[] DEFAULT ARRAY[]::text[], embedding vector(1536),
  created_at timestamptz DEFAULT now(), last_validated_at timestamptz);

CREATE TABLE session_memories (
  id uuid PRIMARY KEY DEFAULT uuid_generate_v4(),
  session_id text NOT NULL, user_id text NOT NULL,
  memory_type text NOT NULL CONSTRAINT session_memories_memory_type_check CHECK (memory_type IN (
    'session_metadata', 'message_user', 'message_assistant', 'message_system', 'context', 'action', 'issue', 'decision', 'log')),
  content jsonb NOT NULL, metadata jsonb DEFAULT '{}'::jsonb, created_at timestamptz DEFAULT now());

CREATE TABLE settings (
  id uuid PRIMARY KEY DEFAULT uuid_generate_v4(), setting_key text UNIQUE NOT NULL, setting_value text NOT NULL,
  category text DEFAULT 'general', description text, created_at timestamptz DEFAULT now(), updated_at timestamptz DEFAULT now());

CREATE TABLE agent_factory_settings (
  id uuid PRIMARY KEY DEFAULT uuid_generate_v4(), category text NOT NULL, key text NOT NULL, value text NOT NULL, description text,
  created_at timestamptz DEFAULT now(), updated_at timestamptz DEFAULT now(), UNIQUE (category, key));

CREATE TABLE conversation_sessions (
  session_id text PRIMARY KEY, user_id text NOT NULL, telegram_user_id bigint,
  messages jsonb NOT NULL DEFAULT '[]'::jsonb, context_summary text, last_topic text,
  created_at timestamp DEFAULT now(), updated_at timestamp DEFAULT now());

-- Session s-1, saved three times: its metadata row replaced each time, its transcript re-inserted each time.
INSERT INTO session_memories (session_id, user_id, memory_type, content, created_at) VALUES
  ('s-1', 'alice', 'session_metadata',
     '{"created_at": "2025-03-01T09:00:00.250000", "last_active": "2025-03-01T09:11:00", "metadata": {"title": "Pump noise", "plant": "north"}, "message_count": 3}',
     '2025-03-01T09:11:00.100000');
INSERT INTO session_memories (session_id, user_id, memory_type, content, created_at)
SELECT 's-1', 'alice', m.type, m.content::jsonb, m.at::timestamptz FROM (VALUES
  ('message_user', '{"role": "user", "content": "The pump sounds like gravel", "timestamp": "2025-03-01T09:00:01", "metadata": {"channel": "telegram"}, "message_index": 0}', '2025-03-01T09:00:01'),
  ('message_assistant', '{"role": "assistant", "content": "That is cavitation: check the suction side.", "timestamp": "2025-03-01T09:00:05.500000", "metadata": {}, "message_index": 1}', '2025-03-01T09:00:05.500000'),
  ('message_user', '{"role": "user", "content": "The pump sounds like gravel", "timestamp": "2025-03-01T09:00:01", "metadata": {"channel": "telegram"}, "message_index": 0}', '2025-03-01T09:00:01'),
  ('message_assistant', '{"role": "assistant", "content": "That is cavitation: check the suction side.", "timestamp": "2025-03-01T09:00:05.500000", "metadata": {}, "message_index": 1}', '2025-03-01T09:00:05.500000'),
  ('message_user', '{"role": "user", "content": "Strainer was clogged, thanks", "timestamp": "2025-03-01T09:10:00", "metadata": {}, "message_index": 2}', '2025-03-01T09:10:00'),
  ('message_user', '{"role": "user", "content": "The pump sounds like gravel", "timestamp": "2025-03-01T09:00:01", "metadata": {"channel": "telegram"}, "message_index": 0}', '2025-03-01T09:00:01'),
  ('message_assistant', '{"role": "assistant", "content": "That is cavitation: check the suction side.", "timestamp": "2025-03-01T09:00:05.500000", "metadata": {}, "message_index": 1}', '2025-03-01T09:00:05.500000'),
  ('message_user', '{"role": "user", "content": "Strainer was clogged, thanks", "timestamp": "2025-03-01T09:10:00", "metadata": {}, "message_index": 2}', '2025-03-01T09:10:00')
) AS m(type, content, at);
-- A memory atom saved by save_memory_atom: content and metadata as given.
INSERT INTO session_memories (session_id, user_id, memory_type, content, metadata, created_at) VALUES
  ('s-1', 'alice', 'decision', '{"title": "Clean strainers weekly", "rationale": "clogging caused cavitation"}', '{"priority": "high"}', '2025-03-01T09:12:00'),
  ('s-2', 'bob', 'session_metadata', '{"created_at": "2025-03-02T10:00:00", "last_active": "2025-03-02T10:00:02", "metadata": {}, "message_count": 2}', '{}', '2025-03-02T10:00:02'),
  ('s-2', 'bob', 'message_system', '{"role": "system", "content": "You are terse.", "timestamp": "2025-03-02T10:00:00", "metadata": {}, "message_index": 0}', '{}', '2025-03-02T10:00:00'),
  ('s-2', 'bob', 'message_user', '{"role": "user", "content": "Reset the VFD?", "timestamp": "2025-03-02T10:00:02", "metadata": {}, "message_index": 1}', '{}', '2025-03-02T10:00:02'),
  ('s-2', 'bob', 'log', '{"event": "user asked about VFD"}', '{}', '2025-03-02T10:00:03');

INSERT INTO knowledge_atoms (atom_id, atom_type, title, summary, content, manufacturer, product_family, difficulty,
    source_document, source_pages, related_atoms, quality_score, safety_level, keywords, embedding, citations, created_at) VALUES
  ('Siemens:S7-1200:motor-start-fault', 'fault', 'Motor does not start', 'F0001 at start', 'Check the contactor coil and the overload relay.',
     'Siemens', 'S7-1200', 'intermediate', 'S7-1200 System Manual', '{112,113}', '{ABB:ACS580:overcurrent-trip}', 0.9, 'warning', '{motor,start}',
     array_fill(0.01::real, ARRAY[1536])::vector, '[{"id": 1, "url": "https://example.com/s7", "title": "S7-1200 manual"}]', '2025-01-01T00:00:00'),
  ('ABB:ACS580:overcurrent-trip', 'procedure', 'Reset an overcurrent trip', 'F0001', 'Find the cause before resetting.',
     'ABB', 'ACS580', 'beginner', 'ACS580 Firmware Manual', '{45}', '{}', 0.8, 'danger', '{vfd}', NULL, '[]', '2025-01-02T00:00:00'),
  ('BAD ID', 'procedure', 'Bad id', 'x', 'x', 'Acme', NULL, 'beginner', 'doc', '{1}', '{}', 0.5, 'info', '{}', NULL, '[]', now()),
  ('Acme:pump:no-url', 'reference', 'Unlinked', 'x', 'x', 'Acme', NULL, 'expert', 'doc', '{2}', '{}', 0.5, 'info', '{}', NULL, '[]', now());
UPDATE knowledge_atoms SET source_url = 'see the binder on shelf 3' WHERE atom_id = 'Acme:pump:no-url';

INSERT INTO settings (setting_key, setting_value, category, description) VALUES
  ('DEFAULT_MODEL', 'gpt-4', 'llm', 'Default LLM model for agents'),
  ('BATCH_SIZE', '50', 'memory', 'Batch size for memory operations'),
  ('USE_HYBRID_SEARCH', 'true', 'memory', 'Enable hybrid vector + text search');
INSERT INTO agent_factory_settings (category, key, value, description) VALUES
  ('llm', 'DEFAULT_MODEL', 'gpt-4o', 'Default LLM model'),
  ('memory', 'BATCH_SIZE', '50', NULL),
  ('alerts', 'telegram_enabled', 'true', 'send alerts');

INSERT INTO conversation_sessions (session_id, user_id, telegram_user_id, messages, context_summary, last_topic, created_at, updated_at) VALUES
  ('test_session_001', 'test_user_free', 123456789,
   '[{"role": "user", "content": "Motor running hot", "timestamp": "2025-12-15T10:00:00Z"},
     {"role": "assistant", "content": "Let me help diagnose that...", "timestamp": "2025-12-15T10:00:05Z"}]',
   'overheating motor, user on free tier', 'motor overheating', '2025-12-15T10:00:00', '2025-12-15T10:00:05'),
  ('test_session_002', 'test_user_pro', 987654321,
   '[{"role": "user", "content": "Check pump 4", "name": "tech_ann", "timestamp": "2025-12-16T08:00:00Z"},
     {"role": "assistant", "content": "", "tool_calls": [{"id": "call_p4", "type": "function", "function": {"name": "read_sensor", "arguments": "{\\"pump\\": 4}"}}], "timestamp": "2025-12-16T08:00:01Z"},
     {"role": "tool", "tool_call_id": "call_p4", "name": "read_sensor", "content": "vibration 7.1 mm/s", "timestamp": "2025-12-16T08:00:02Z"},
     {"role": "tool", "name": "read_sensor", "content": "orphan without a call id", "timestamp": "2025-12-16T08:00:02Z"},
     {"role": "assistant", "content": "Pump 4 vibration is high.", "metadata": {"tool_calls": [{"id": "call_old", "name": "lookup", "args": {"q": "pump"}}]}, "timestamp": "2025-12-16T08:00:03Z"}]',
   NULL, 'pump vibration', '2025-12-16T08:00:00', '2025-12-16T08:00:03');
`;

const cluster = useCluster(2);
let cwd: string;
beforeAll(async () => {
  await migrateAll({ ...cluster, servers: [cluster.servers[0]!] } as PgCluster);
  cluster.servers[1]!.psql('CREATE DATABASE legacy');
  cluster.servers[1]!.psql(LEGACY, 'legacy');
  cwd = mkdtempSync(join(tmpdir(), 'agentmem-legacy-'));
  writeFileSync(
    join(cwd, 'agentmem.config.json'),
    JSON.stringify({ providers: [{ name: 'main', url: cluster.servers[0]!.url() }], tenant: 'imported' }),
  );
});

describe('agentmem import legacy', () => {
  it('imports the real layout exactly once: transcripts from the content envelope, conversations, upstream atoms, one value per setting', async () => {
    const from = cluster.servers[1]!.url({ database: 'legacy' });
    const dry = await runCli(['import', 'legacy', '--from', from, '--dry-run', '--json'], { cwd });
    const dryReport = JSON.parse(dry.stdout);
    expect(dryReport).toMatchObject({
      dryRun: true,
      sessions: { read: 2, imported: 0 },
      conversations: { read: 2, imported: 0 },
      messages: { read: 17, duplicates: 5 },
      atoms: { read: 4 },
    });
    expect(dry.stdout).not.toContain(TEST_PASSWORD);

    const first = await runCli(['import', 'legacy', '--from', from, '--json'], { cwd });
    expect(first.code).toBe(1); // two atoms were invalid
    const progress = progressEvents(first.stderr);
    for (const [label, total] of [
      ['sessions (session_memories)', 2],
      ['conversations (conversation_sessions)', 2],
      ['atoms checked', 4],
    ] as const)
      expect(progress.filter((e) => e.label === label).at(-1), label).toMatchObject({ done: total, total });
    const report = JSON.parse(first.stdout);
    expect(report.sessions).toEqual({ read: 2, imported: 2, existing: 0 });
    expect(report.conversations).toEqual({ read: 2, imported: 2, existing: 0 });
    expect(report.messages).toEqual({ read: 17, imported: 11, existing: 0, duplicates: 5 });
    expect(report.memories).toEqual({ read: 2, imported: 2, existing: 0 });
    expect(report.atoms).toMatchObject({ read: 4, imported: 2, existing: 0 });
    expect(report.atoms.invalid.map((i: { atomId: string }) => i.atomId)).toEqual(['Acme:pump:no-url', 'BAD ID']);
    expect(report.atoms.invalid[0].reasons.join(' ')).toMatch(/sourceUrl/);
    expect(report.settings).toEqual({ read: 6, imported: 4, existing: 0, shadowed: ['llm.DEFAULT_MODEL'] });
    // A tool result that does not say which call it answers cannot be sent to a model: reported, not imported.
    expect(report.skipped).toEqual([
      { table: 'conversation_sessions', reason: 'session test_session_002: message 3 is a tool message without the tool call it answers' },
    ]);

    const second = await runCli(['import', 'legacy', '--from', from, '--json'], { cwd });
    const again = JSON.parse(second.stdout);
    expect(again.sessions).toEqual({ read: 2, imported: 0, existing: 2 });
    expect(again.conversations).toEqual({ read: 2, imported: 0, existing: 2 });
    expect(again.messages).toMatchObject({ imported: 0, existing: 11 });
    expect(again.memories).toEqual({ read: 2, imported: 0, existing: 2 });
    expect(again.atoms).toMatchObject({ imported: 0, existing: 2 });
    expect(again.settings).toEqual({ read: 6, imported: 0, existing: 4, shadowed: ['llm.DEFAULT_MODEL'] });
    expect(second.code).toBe(1); // the two invalid atoms are still reported

    // What landed is exact.
    const config = await loadConfig({ cwd, env: {} });
    const memory = await createMemory({ workers: false, config });
    try {
      const sessions = await memory.sessions.list();
      expect(sessions.map((s) => s.title ?? '').sort()).toEqual(['', 'Pump noise', 'motor overheating', 'pump vibration']);
      // Tool calls, the calls answered and speakers' names come across where the old rows have them.
      const tools = sessions.find((s) => s.title === 'pump vibration')!;
      const toolTranscript = await memory.sessions.getMessages(tools.id);
      expect(toolTranscript.map((m) => [m.role, m.name, m.toolCalls, m.toolCallId, m.content, m.metadata])).toEqual([
        ['user', 'tech_ann', undefined, undefined, 'Check pump 4', {}],
        ['assistant', undefined, [{ id: 'call_p4', name: 'read_sensor', arguments: '{"pump": 4}' }], undefined, '', {}],
        ['tool', 'read_sensor', undefined, 'call_p4', 'vibration 7.1 mm/s', {}],
        [
          'assistant',
          undefined,
          [{ id: 'call_old', name: 'lookup', arguments: { q: 'pump' } }],
          undefined,
          'Pump 4 vibration is high.',
          { metadata: {} },
        ],
      ]);
      expect(await memory.sessions.export(tools.id, 'openai')).toMatchObject([
        { role: 'user', name: 'tech_ann' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_p4', function: { name: 'read_sensor', arguments: '{"pump": 4}' } }] },
        { role: 'tool', tool_call_id: 'call_p4' },
        { role: 'assistant', tool_calls: [{ id: 'call_old', function: { arguments: '{"q":"pump"}' } }] },
      ]);
      const pump = sessions.find((s) => s.title === 'Pump noise')!;
      expect(pump).toMatchObject({
        userId: 'alice',
        startedAt: new Date('2025-03-01T09:00:00.250Z'),
        metadata: { legacy_session_id: 's-1', plant: 'north', last_active: '2025-03-01T09:11:00.000Z' },
      });
      const transcript = await memory.sessions.getMessages(pump.id);
      expect(transcript.map((m) => [m.seq, m.role, m.content, m.createdAt.toISOString(), m.metadata])).toEqual([
        [0, 'user', 'The pump sounds like gravel', '2025-03-01T09:00:01.000Z', { channel: 'telegram' }],
        [1, 'assistant', 'That is cavitation: check the suction side.', '2025-03-01T09:00:05.500Z', {}],
        [2, 'user', 'Strainer was clogged, thanks', '2025-03-01T09:10:00.000Z', {}],
      ]);
      const decision = await memory.memories.recall({ types: ['decision'] });
      expect(decision.map((d) => [d.content, d.metadata, d.createdAt.toISOString(), d.userId])).toEqual([
        [
          { title: 'Clean strainers weekly', rationale: 'clogging caused cavitation' },
          { priority: 'high' },
          '2025-03-01T09:12:00.000Z',
          'alice',
        ],
      ]);
      const telegram = sessions.find((s) => s.title === 'motor overheating')!;
      expect(telegram).toMatchObject({
        userId: 'test_user_free',
        metadata: {
          legacy_conversation_id: 'test_session_001',
          telegram_user_id: '123456789',
          context_summary: 'overheating motor, user on free tier',
        },
      });
      expect((await memory.sessions.getMessages(telegram.id)).map((m) => [m.role, m.content, m.createdAt.toISOString()])).toEqual([
        ['user', 'Motor running hot', '2025-12-15T10:00:00.000Z'],
        ['assistant', 'Let me help diagnose that...', '2025-12-15T10:00:05.000Z'],
      ]);
      expect(await memory.atoms.get('Siemens:S7-1200:motor-start-fault')).toMatchObject({
        atomType: 'fault',
        manufacturer: 'Siemens',
        sourcePages: '112,113',
        relatedAtoms: ['ABB:ACS580:overcurrent-trip'],
        keywords: ['motor', 'start'],
        embeddingDim: 384,
        citations: [{ id: 1, url: 'https://example.com/s7', title: 'S7-1200 manual' }],
      });
      expect(await memory.settings.getJSON('llm', 'DEFAULT_MODEL')).toBe('gpt-4o');
      expect(await memory.settings.getInt('memory', 'BATCH_SIZE')).toBe(50);
      expect(await memory.settings.getBool('memory', 'USE_HYBRID_SEARCH')).toBe(true);
      expect(await memory.settings.getBool('alerts', 'telegram_enabled')).toBe(true);
    } finally {
      await memory.close();
    }
  });
});
