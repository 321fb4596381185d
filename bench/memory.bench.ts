/**
 * Memory API writes and reads against raw `pg` doing the same work (the same
 * rows, ids and columns, into the same tables with the same indexes and
 * triggers) on the same server in the same run. Baseline and agentmem run in
 * alternating rounds, so neither gets a warmer cache or a quieter machine.
 * Prints JSON; a ratio is baseline time / agentmem time (1 = as fast).
 *   - add_message:   sessions.addMessage vs a single-row INSERT (autocommit, same durability)
 *   - add_message_tool_calls: the same with an assistant turn's tool calls, external id and format fields
 *   - add_messages:  sessions.addMessages (batches of BENCH_BATCH) vs a multi-row INSERT
 *   - save:          sessions.save of a new session with BENCH_BATCH messages vs a transaction inserting the session row
 *                    and the same messages in one multi-row INSERT
 *   - remember:      memories.remember (a fact: deduplicated) vs a single-row INSERT of the same row, content hash included
 *   - atom_import:   atoms.upsert vs binary COPY of the same rows, embeddings computed for both, and embeddings given to both
 *   - session_load:  sessions.load of a 1,000-message session vs a SELECT of the same columns
 *   - embedded:      addMessage and hybrid search on PGlite vs raw PGlite statements
 *   - steady_memory: process RSS and heap over BENCH_STEADY_WRITES writes and BENCH_STEADY_SEARCHES searches
 * Sizes: BENCH_MESSAGES (6000), BENCH_BATCH (100), BENCH_IMPORT (5000), BENCH_IMPORT_DIM (1536), BENCH_ROUNDS (10),
 * BENCH_STEADY_WRITES (100000), BENCH_STEADY_SEARCHES (10000), BENCH_SITTINGS (5: addMessage and remember, each sitting's
 * ratio reported with their min–median–max).
 * BENCH_ONLY=add_message,remember runs only the named parts (the names above; session_load for session_load_1000).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { contentHash } from '../src/core/content-hash.js';
import { type AgentMemory, type AtomInput, createMemory, loadConfig } from '../src/index.js';
import { LocalHashEmbedder } from '../src/ops/index.js';
import { startCluster } from '../test/harness/postgres.js';
import { binaryCopy, field } from './binary-copy.js';
import { atomText, corpus, queries } from './corpus.js';
import { alternate, alternateSittings, benchServer, LIBRARY } from './stats.js';

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const MESSAGES = env('BENCH_MESSAGES', 6000);
const BATCH = env('BENCH_BATCH', 100);
const IMPORT = env('BENCH_IMPORT', 5000);
const IMPORT_DIM = env('BENCH_IMPORT_DIM', 1536);
// Ten rounds: on this VM the baseline's own p50 moved between 0.37 and 0.55 ms from run to run; finer alternation keeps both sides on the same drift.
const ROUNDS = env('BENCH_ROUNDS', 10);
/** Sittings of the single-row writes (addMessage, remember): a target holds when every sitting holds it. */
const SITTINGS = env('BENCH_SITTINGS', 5);
const STEADY_WRITES = env('BENCH_STEADY_WRITES', 100_000);
const STEADY_SEARCHES = env('BENCH_STEADY_SEARCHES', 10_000);
const ONLY = process.env.BENCH_ONLY?.split(',').map((name) => name.trim());
const wanted = (part: string) => !ONLY || ONLY.includes(part);
const SERVER = { shared_buffers: '1GB', effective_cache_size: '4GB', work_mem: '16MB' };
const TEXT = 'The conveyor motor trips its overload a few minutes after every restart. What should I check first?';
const MEMORY_COLUMNS = 'tenant_id, id, session_id, user_id, memory_type, position, content, metadata, created_at, version, origin';

const out: Record<string, unknown> = {
  bench: 'memory',
  library: LIBRARY,
  server: { postgres: benchServer(), ...SERVER },
};
const cluster = await startCluster(1, undefined, SERVER);
const server = cluster.servers[0] as (typeof cluster.servers)[0];
try {
  const config = await loadConfig({
    cwd: mkdtempSync(join(tmpdir(), 'agentmem-bench-')),
    env: {},
    overrides: { providers: [{ name: 'bench', url: server.url(), pool: { max: 4 } }] },
  });
  const memory = await createMemory({ workers: false, config, migrate: true, tenant: 'bench' });
  await memory.settings.list();
  const raw = new pg.Pool({ connectionString: server.url(), max: 4 });
  const version = () => String(BigInt(Date.now()) << 16n);
  /** BATCH messages, users and assistants in turn: what the batch writes send. */
  const messageBatch = () =>
    Array.from({ length: BATCH }, (_, k) => ({ role: k % 2 ? 'assistant' : 'user', content: `${TEXT} (${k})` }) as const);
  /** The batch baselines' statement: one multi-row INSERT of `rows` into the raw tenant's session, at the next positions. */
  let rawPosition = 0n;
  const rawMessagesInsert = (sessionId: string, rows: ReturnType<typeof messageBatch>) => {
    const params: unknown[] = [sessionId, version()];
    const values = rows.map((m) => {
      params.push(
        randomUUID(),
        m.role === 'user' ? 'message_user' : 'message_assistant',
        (rawPosition++).toString(),
        JSON.stringify(m.content),
        new Date(),
      );
      const p = params.length;
      return `('raw', $${p - 4}, $1, NULL, $${p - 3}, $${p - 2}, $${p - 1}, '{}', $${p}, $2, 'bench')`;
    });
    return { text: `INSERT INTO agentmem.memories (${MEMORY_COLUMNS}) VALUES ${values.join(', ')}`, values: params };
  };

  // 1. One message at a time.
  if (wanted('add_message')) {
    const session = await memory.sessions.create({ agentId: 'bench' });
    const rawSession = await memory.forTenant('raw').sessions.create({ agentId: 'bench' });
    const content = JSON.stringify(TEXT);
    let position = 0n;
    const baseline = () =>
      raw.query(
        `INSERT INTO agentmem.memories (${MEMORY_COLUMNS}) VALUES ('raw', $1, $2, NULL, 'message_user', $3, $4, '{}', $5, $6, 'bench')`,
        [randomUUID(), rawSession.id, (position++).toString(), content, new Date(), version()],
      );
    const agentmem = () => memory.sessions.addMessage(session.id, { role: 'user', content: TEXT });
    await alternate(100, baseline, agentmem, 1); // warm-up
    out.add_message = await alternateSittings(SITTINGS, MESSAGES / ROUNDS, baseline, agentmem, ROUNDS, 0.85);
  }

  // 1b. An assistant message with tool calls (a tool-using agent's turn), against a raw INSERT of the same row.
  if (wanted('add_message_tool_calls')) {
    const session = await memory.sessions.create({ agentId: 'bench-tools' });
    const rawSession = await memory.forTenant('raw').sessions.create({ agentId: 'bench-tools' });
    const toolCalls = [
      { id: 'call_1', name: 'read_sensor', arguments: { pump: 4, window: '5m', fields: ['vibration', 'temperature'] } },
      { id: 'call_2', name: 'search_manual', arguments: { query: 'pump cavitation symptoms', limit: 5 } },
    ];
    const extra = { openai: { refusal: null } };
    let position = 0n;
    const baseline = () =>
      raw.query(
        `INSERT INTO agentmem.memories (${MEMORY_COLUMNS}, tool_calls, external_id, extra)
         VALUES ('raw', $1, $2, NULL, 'message_assistant', $3, $4, '{}', $5, $6, 'bench', $7, $8, $9)`,
        [
          randomUUID(),
          rawSession.id,
          (position++).toString(),
          JSON.stringify('Checking the sensor and the manual.'),
          new Date(),
          version(),
          JSON.stringify(toolCalls),
          `ext-${position}`,
          JSON.stringify(extra),
        ],
      );
    let n = 0;
    const agentmem = () =>
      memory.sessions.addMessage(session.id, {
        role: 'assistant',
        content: 'Checking the sensor and the manual.',
        toolCalls,
        externalId: `ext-${n++}`,
        extra,
      });
    await alternate(100, baseline, agentmem, 1);
    out.add_message_tool_calls = await alternateSittings(SITTINGS, MESSAGES / ROUNDS, baseline, agentmem, ROUNDS, 0.85);
  }

  // 2. Messages in batches.
  if (wanted('add_messages')) {
    const session = await memory.sessions.create({ agentId: 'bench-batch' });
    const rawSession = await memory.forTenant('raw').sessions.create({ agentId: 'bench-batch' });
    const baseline = () => raw.query(rawMessagesInsert(rawSession.id, messageBatch()));
    const agentmem = () => memory.sessions.addMessages(session.id, messageBatch());
    await alternate(5, baseline, agentmem, 1);
    out.add_messages = { batch: BATCH, ...(await alternate(MESSAGES / BATCH / ROUNDS, baseline, agentmem, ROUNDS)), target_ratio: 0.8 };
  }

  // 2b. A whole session saved at once (sessions.save: the session row and its messages, one transaction),
  //     against a raw transaction inserting the same session row and the same messages in one multi-row INSERT.
  if (wanted('save')) {
    const baseline = async () => {
      const sessionId = randomUUID();
      const insert = rawMessagesInsert(sessionId, messageBatch());
      const client = await raw.connect();
      try {
        await client.query('BEGIN');
        await client.query(
          `INSERT INTO agentmem.sessions (tenant_id, id, agent_id, user_id, title, metadata, started_at, version, origin)
           VALUES ('raw', $1, 'bench-save', NULL, 'saved', '{}', $2, $3, 'bench')`,
          [sessionId, new Date(), version()],
        );
        await client.query(insert);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw error;
      } finally {
        client.release();
      }
    };
    const agentmem = () =>
      memory.sessions.save({ session: { id: randomUUID(), agentId: 'bench-save', title: 'saved' }, messages: messageBatch() });
    await alternate(5, baseline, agentmem, 1);
    out.save = { batch: BATCH, ...(await alternate(MESSAGES / BATCH / ROUNDS, baseline, agentmem, ROUNDS)), target_ratio: 0.8 };
  }

  // 3. A typed memory.
  if (wanted('remember')) {
    // The same row, its content hash included (a decision is a fact: deduplicated by that hash). Each side
    // counts its own calls: every call is a new fact, in every sitting (alternate's index restarts).
    let rawFacts = 0;
    let facts = 0;
    const baseline = () => {
      const content = { decision: `use the spare pump ${rawFacts++}`, why: TEXT };
      return raw.query(
        `INSERT INTO agentmem.memories (tenant_id, id, session_id, user_id, memory_type, content, metadata, importance, created_at, expires_at, version, origin, content_hash)
         VALUES ('raw', $1, NULL, NULL, 'decision', $2, '{}', 0.5, $3, NULL, $4, 'bench', $5)`,
        [randomUUID(), JSON.stringify(content), new Date(), version(), contentHash('raw', 'decision', content)],
      );
    };
    const agentmem = () =>
      memory.memories.remember({ type: 'decision', content: { decision: `use the spare pump ${facts++}`, why: TEXT } });
    await alternate(100, baseline, agentmem, 1);
    out.remember = await alternateSittings(SITTINGS, MESSAGES / ROUNDS, baseline, agentmem, ROUNDS, 0.85);
  }

  // 4. Atom import: atoms.upsert vs COPY of the same rows into the same table (same indexes, same triggers),
  //    (a) with the embedder computing the vectors on both sides, (b) with the vectors already at hand.
  if (wanted('atom_import')) {
    const embedder = new LocalHashEmbedder(IMPORT_DIM);
    // A schema of its own, migrated for this embedder's dimensions (its vector indexes hold them).
    const importConfig = await loadConfig({
      cwd: mkdtempSync(join(tmpdir(), 'agentmem-bench-')),
      env: {},
      overrides: {
        schema: 'agentmem_import',
        providers: [{ name: 'bench', url: server.url(), pool: { max: 4 } }],
        embedder: { dimensions: IMPORT_DIM },
      },
    });
    const importer = await createMemory({ workers: false, config: importConfig, migrate: true, tenant: 'bench', embedder });
    await importer.settings.list();
    const atoms = corpus(IMPORT, 1);
    // The text the library embeds an atom from, so both sides embed the same.
    const given = await embedder.embed(atoms.map(atomText));
    // Each run starts from an empty table in the same tenant (so the same vector index bucket): neither side
    // inserts into a graph the other one grew.
    const empty = () => raw.query('TRUNCATE agentmem_import.knowledge_atoms, agentmem_import.change_history');
    const viaCopy = async (tenant: string, embed: boolean) => {
      await empty();
      const started = performance.now();
      const vectors = embed ? await embedder.embed(atoms.map(atomText)) : given;
      const v = version();
      // Binary COPY: the embeddings go as 4-byte floats, as the library sends them (a binary parameter).
      const input = binaryCopy(
        atoms.map((a, i) => [
          field.text(tenant),
          field.uuid(randomUUID()),
          field.text(a.atomId),
          field.text('reference'),
          field.text(a.title),
          field.text(a.summary ?? null),
          field.text(a.content),
          field.text(a.manufacturer ?? null),
          field.textArray(a.keywords ?? []),
          field.jsonb(a.metadata ?? {}),
          field.realArray(vectors[i] as number[]),
          field.text(embedder.model),
          field.int4(IMPORT_DIM),
          field.int8(v),
          field.text('bench'),
        ]),
      );
      const client = await raw.connect();
      try {
        const stream = client.query(
          copyFrom(`COPY agentmem_import.knowledge_atoms (tenant_id, id, atom_id, atom_type, title, summary, content, manufacturer, keywords,
                    metadata, embedding, embedding_model, embedding_dim, version, origin) FROM STDIN (FORMAT binary)`),
        );
        await pipeline(Readable.from([input]), stream);
      } finally {
        client.release();
      }
      return performance.now() - started;
    };
    const withVectors = atoms.map((a, i) => ({ ...a, embedding: given[i] as number[] }));
    const viaLibrary = async (tenant: string, embed: boolean) => {
      await empty();
      const started = performance.now();
      await importer.forTenant(tenant).atoms.upsert(embed ? atoms : withVectors);
      return performance.now() - started;
    };
    await viaCopy('import', true);
    await viaLibrary('import', true);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const figures = async (embed: boolean) => {
      const copyMs: number[] = [];
      const libMs: number[] = [];
      for (let round = 0; round < 2; round++) {
        // Which side goes first alternates.
        if (round % 2) libMs.push(await viaLibrary('import', embed));
        copyMs.push(await viaCopy('import', embed));
        if (!(round % 2)) libMs.push(await viaLibrary('import', embed));
      }
      return {
        baseline_copy: { rows_per_second: Math.round(IMPORT / (mean(copyMs) / 1000)) },
        agentmem: { rows_per_second: Math.round(IMPORT / (mean(libMs) / 1000)) },
        throughput_ratio: Number((mean(copyMs) / mean(libMs)).toFixed(3)),
      };
    };
    out.atom_import = {
      rows: IMPORT,
      rounds: 2,
      dimensions: IMPORT_DIM,
      embedded_here: await figures(true),
      embeddings_given: await figures(false),
      target_ratio: 0.8,
      note: 'HNSW indexes in place; 100k atoms with a deferred index build: see the search bench (load)',
    };
    await importer.close();
  }

  // 5. Loading a 1,000-message session: the same columns, the same order.
  if (wanted('session_load')) {
    const session = await memory.sessions.create({ agentId: 'bench-load' });
    const messages = Array.from({ length: 1000 }, (_, i) => ({
      role: (i % 2 ? 'assistant' : 'user') as 'user' | 'assistant',
      content: `message ${i}: ${'lorem ipsum '.repeat(10)}`,
    }));
    await memory.sessions.save({ session: { id: session.id }, messages });
    const baseline = () =>
      raw.query(
        `SELECT id, session_id, memory_type, content, metadata, created_at, position, row_number() OVER (ORDER BY position, id) - 1 AS seq
           FROM agentmem.memories WHERE tenant_id = 'bench' AND session_id = $1 AND deleted_at IS NULL ORDER BY position, id`,
        [session.id],
      );
    const agentmem = () => memory.sessions.load(session.id);
    await alternate(5, baseline, agentmem, 1);
    out.session_load_1000 = await alternate(20, baseline, agentmem, ROUNDS);
  }

  // 6. Steady memory: RSS and heap sampled over many writes and searches (flat = no leak).
  if (wanted('steady_memory')) {
    const samples: { after_ops: number; rss_mb: number; heap_mb: number }[] = [];
    const sample = (ops: number) => {
      globalThis.gc?.();
      const m = process.memoryUsage();
      samples.push({ after_ops: ops, rss_mb: Math.round(m.rss / 1048576), heap_mb: Math.round(m.heapUsed / 1048576) });
    };
    const session = await memory.sessions.create({ agentId: 'bench-steady' });
    await memory.atoms.upsert(corpus(2000, 9));
    const qs = queries(100);
    const every = Math.max(1, Math.floor((STEADY_WRITES + STEADY_SEARCHES) / 10));
    let ops = 0;
    sample(0);
    const started = performance.now();
    for (let i = 0; i < STEADY_WRITES; i++) {
      await (i % 2
        ? memory.memories.remember({ type: 'log', content: { i } })
        : memory.sessions.addMessage(session.id, { role: 'user', content: TEXT }));
      if (++ops % every === 0) sample(ops);
    }
    for (let i = 0; i < STEADY_SEARCHES; i++) {
      await memory.atoms.search(qs[i % qs.length] as string, { mode: 'hybrid', limit: 10 });
      if (++ops % every === 0) sample(ops);
    }
    const rss = samples.map((s) => s.rss_mb);
    const heap = samples.map((s) => s.heap_mb);
    const late = samples.slice(Math.floor(samples.length / 2));
    out.steady_memory = {
      writes: STEADY_WRITES,
      searches: STEADY_SEARCHES,
      seconds: Math.round((performance.now() - started) / 1000),
      gc_exposed: typeof globalThis.gc === 'function',
      samples,
      rss_mb: { first: rss[0], max: Math.max(...rss), last: rss.at(-1) },
      heap_mb: { first: heap[0], max: Math.max(...heap), last: heap.at(-1) },
      heap_growth_second_half_mb: (late.at(-1)?.heap_mb ?? 0) - (late[0]?.heap_mb ?? 0),
    };
  }
  await raw.end();
  await memory.close();
} finally {
  await cluster.stop();
}

// 7. The embedded default: the memory API on PGlite vs raw statements on a second PGlite, alternating.
if (wanted('embedded')) {
  const dataDir = join(mkdtempSync(join(tmpdir(), 'agentmem-bench-pglite-')), 'data');
  const config = await loadConfig({ cwd: mkdtempSync(join(tmpdir(), 'agentmem-bench-')), env: {}, overrides: { embedded: { dataDir } } });
  const memory: AgentMemory = await createMemory({ workers: false, config, migrate: true, tenant: 'bench' });
  await memory.settings.list();
  const rawDb = await PGlite.create({
    dataDir: join(mkdtempSync(join(tmpdir(), 'agentmem-bench-pglite-raw-')), 'data'),
    extensions: { vector },
  });
  await rawDb.exec(`CREATE EXTENSION vector;
    CREATE TABLE messages (id uuid PRIMARY KEY, session_id uuid, memory_type text, position bigint, content jsonb, metadata jsonb, created_at timestamptz);
    CREATE INDEX ON messages (session_id, position, id);
    CREATE TABLE atoms (id text PRIMARY KEY, body text, search tsvector GENERATED ALWAYS AS (to_tsvector('english', body)) STORED, embedding vector(384));
    CREATE INDEX ON atoms USING gin (search);
    CREATE INDEX ON atoms USING hnsw (embedding vector_cosine_ops);`);
  const session = await memory.sessions.create({ agentId: 'bench' });
  const rawSession = randomUUID();
  let position = 0;
  const addRaw = () =>
    rawDb.query('INSERT INTO messages VALUES ($1, $2, $3, $4, $5, $6, $7)', [
      randomUUID(),
      rawSession,
      'message_user',
      position++,
      JSON.stringify(TEXT),
      '{}',
      new Date(),
    ]);
  const addLib = () => memory.sessions.addMessage(session.id, { role: 'user', content: TEXT });
  await alternate(50, addRaw, addLib, 1);
  const addMessage = await alternate(200, addRaw, addLib, ROUNDS);
  // Search: 2,000 atoms each side; raw = the same two legs (text rank, HNSW) fused in JS.
  const atoms = corpus(2000, 3);
  await memory.atoms.upsert(atoms);
  const embedder = new LocalHashEmbedder(384);
  const vectors = await embedder.embed(atoms.map(atomText));
  for (let i = 0; i < atoms.length; i++) {
    await rawDb.query('INSERT INTO atoms (id, body, embedding) VALUES ($1, $2, $3)', [
      atoms[i]?.atomId,
      atomText(atoms[i] as AtomInput),
      `[${vectors[i]?.join(',')}]`,
    ]);
  }
  const qs = queries(100);
  const searchRaw = async (i: number) => {
    const q = qs[i % qs.length] as string;
    const [v] = await embedder.embed([q]);
    const text = await rawDb.query(
      "SELECT id FROM atoms, websearch_to_tsquery('english', $1) q WHERE search @@ q ORDER BY ts_rank_cd(search, q) DESC LIMIT 40",
      [q],
    );
    const near = await rawDb.query('SELECT id FROM atoms ORDER BY embedding <=> $1 LIMIT 40', [`[${v?.join(',')}]`]);
    return [text.rows.length, near.rows.length];
  };
  const searchLib = (i: number) => memory.atoms.search(qs[i % qs.length] as string, { mode: 'hybrid', limit: 10 });
  await alternate(10, searchRaw, searchLib, 1);
  const search = await alternate(40, searchRaw, searchLib, ROUNDS);
  out.embedded = { add_message: addMessage, hybrid_search_2000_atoms: search };
  await rawDb.close();
  await memory.close();
}
console.log(JSON.stringify(out, null, 2));
