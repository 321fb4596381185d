/**
 * Memory API speed against raw `pg` doing the same work on the same server in
 * the same run. Prints JSON. Sizes: BENCH_MESSAGES (2000), BENCH_IMPORT (5000),
 * BENCH_ATOMS (100000, the hybrid-search corpus), BENCH_QUERIES (100).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { AgentMemory, type AtomInput, createMemory, loadConfig } from '../src/index.js';
import { LocalHashEmbedder } from '../src/ops.js';
import { startCluster } from '../test/harness/postgres.js';
import { summarize, timeEach } from './stats.js';

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const MESSAGES = env('BENCH_MESSAGES', 2000);
const IMPORT = env('BENCH_IMPORT', 5000);
const ATOMS = env('BENCH_ATOMS', 100_000);
const QUERIES = env('BENCH_QUERIES', 100);
const TENANTS = 10;

/** Deterministic pseudo-random numbers, so every run searches the same corpus. */
function mulberry32(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const WORDS = (
  'motor pump valve bearing seal gasket belt conveyor drive inverter relay contactor fuse breaker sensor encoder ' +
  'thermostat compressor fan filter coil boiler chiller heat exchanger gearbox coupling shaft impeller rotor stator ' +
  'winding insulation voltage current resistance torque speed pressure flow temperature vibration noise leak ' +
  'corrosion wear overheating tripping alarm fault reset calibration inspection lubrication alignment tension ' +
  'replacement adjustment cleaning tightening testing measuring logging firmware parameter controller plc hmi ' +
  'network cable connector terminal grounding shielding harmonic surge spike sag brownout phase neutral earth ' +
  'hydraulic pneumatic cylinder actuator solenoid manifold accumulator reservoir hose fitting clamp bracket mount'
).split(' ');
function corpus(n: number, seed: number): AtomInput[] {
  const rand = mulberry32(seed);
  const pick = () => WORDS[Math.floor(rand() * WORDS.length)] as string;
  const phrase = (k: number) => Array.from({ length: k }, pick).join(' ');
  return Array.from({ length: n }, (_, i) => ({
    atomId: `bench:atom-${i}`,
    atomType: 'reference' as const,
    title: phrase(5),
    summary: phrase(12),
    content: phrase(60),
    keywords: [pick(), pick(), pick()],
    manufacturer: `vendor-${i % 7}`,
  }));
}

const cluster = await startCluster(1);
const server = cluster.servers[0]!;
const results: Record<string, unknown> = { bench: 'memory', server: 'PostgreSQL 15 + pgvector (harness, loopback)' };
try {
  const config = await loadConfig({
    cwd: mkdtempSync(join(tmpdir(), 'agentmem-bench-')),
    env: {},
    overrides: { providers: [{ name: 'bench', url: server.url(), pool: { max: 4 } }] },
  });
  const memory = await createMemory({ config, migrate: true, tenant: 'bench' });
  await memory.settings.list();
  const raw = new pg.Pool({ connectionString: server.url(), max: 4 });

  // 1. Single-row addMessage vs a raw INSERT of the same row.
  {
    const session = await memory.sessions.create({ agentId: 'bench' });
    const rawSession = randomUUID();
    await raw.query("INSERT INTO agentmem.sessions (tenant_id, id, version, origin) VALUES ('raw', $1, 1, 'bench')", [rawSession]);
    const content = 'The conveyor motor trips its overload a few minutes after every restart. What should I check first?';
    for (let i = 0; i < 200; i++) {
      await memory.sessions.addMessage(session.id, { role: 'user', content });
      await raw.query(
        "INSERT INTO agentmem.memories (tenant_id, id, session_id, memory_type, position, content, metadata, created_at, version, origin) VALUES ('raw', $1, $2, 'message_user', $3, $4, '{}', now(), 1, 'bench')",
        [randomUUID(), rawSession, -1 - i, JSON.stringify(content)],
      );
    }
    let seq = 0;
    const rawStart = performance.now();
    const rawTimes = await timeEach(MESSAGES, () =>
      raw.query(
        "INSERT INTO agentmem.memories (tenant_id, id, session_id, memory_type, position, content, metadata, created_at, version, origin) VALUES ('raw', $1, $2, 'message_user', $3, $4, $5, $6, $7, 'bench')",
        [randomUUID(), rawSession, seq++, JSON.stringify(content), '{}', new Date(), Date.now()],
      ),
    );
    const rawSeconds = (performance.now() - rawStart) / 1000;
    const libStart = performance.now();
    const libTimes = await timeEach(MESSAGES, () => memory.sessions.addMessage(session.id, { role: 'user', content }));
    const libSeconds = (performance.now() - libStart) / 1000;
    results.add_message = {
      rows: MESSAGES,
      baseline_raw_insert: { per_second: Math.round(MESSAGES / rawSeconds), ms: summarize(rawTimes) },
      agentmem: { per_second: Math.round(MESSAGES / libSeconds), ms: summarize(libTimes) },
      throughput_ratio: Number((rawSeconds / libSeconds).toFixed(3)),
      target_ratio: 0.85,
    };
  }

  // 2. Batch atom import vs a raw unnest() insert of the same rows (embeddings computed for both).
  //    A warm-up round first, then library and raw runs alternate (the HNSW index grows as they go).
  {
    const atoms = corpus(IMPORT, 1);
    const embedder = new LocalHashEmbedder(384);
    const viaLibrary = async (tenant: string, rows: AtomInput[]) => {
      const started = performance.now();
      await memory.forTenant(tenant).atoms.upsert(rows);
      return (performance.now() - started) / 1000;
    };
    const viaRaw = async (tenant: string, rows: AtomInput[]) => {
      const started = performance.now();
      const vectors = await embedder.embed(rows.map((a) => [a.title, a.summary ?? '', (a.keywords ?? []).join(' '), a.content].join('\n')));
      for (let start = 0; start < rows.length; start += 500) {
        const chunk = rows.slice(start, start + 500);
        await raw.query(
          `INSERT INTO agentmem.knowledge_atoms (tenant_id, id, atom_id, atom_type, title, summary, content, keywords, manufacturer, embedding, embedding_model, embedding_dim, version, origin)
           SELECT $8, gen_random_uuid(), a, 'reference', t, s, c, string_to_array(k, ' '), m, string_to_array(e, ',')::real[], 'agentmem-local-hash-v1', 384, 1, 'bench'
             FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[]) AS u(a, t, s, c, k, m, e)`,
          [
            chunk.map((a) => a.atomId),
            chunk.map((a) => a.title),
            chunk.map((a) => a.summary ?? null),
            chunk.map((a) => a.content),
            chunk.map((a) => (a.keywords ?? []).join(' ')),
            chunk.map((a) => a.manufacturer ?? null),
            chunk.map((_, i) => (vectors[start + i] as number[]).join(',')),
            tenant,
          ],
        );
      }
      return (performance.now() - started) / 1000;
    };
    await viaLibrary('import-warm-lib', atoms.slice(0, 1000));
    await viaRaw('import-warm-raw', atoms.slice(0, 1000));
    const lib: number[] = [];
    const rawRuns: number[] = [];
    for (let round = 0; round < 2; round++) {
      lib.push(await viaLibrary(`import-lib-${round}`, atoms));
      rawRuns.push(await viaRaw(`import-raw-${round}`, atoms));
    }
    const libSeconds = lib.reduce((a, b) => a + b) / lib.length;
    const rawSeconds = rawRuns.reduce((a, b) => a + b) / rawRuns.length;
    results.atom_import = {
      rows: IMPORT,
      rounds: lib.length,
      baseline_raw_unnest: { rows_per_second: Math.round(IMPORT / rawSeconds) },
      agentmem: { rows_per_second: Math.round(IMPORT / libSeconds) },
      throughput_ratio: Number((rawSeconds / libSeconds).toFixed(3)),
      target_ratio: 0.8,
    };
  }

  // 3. Loading a 1,000-message session.
  {
    const session = await memory.sessions.create({ agentId: 'bench-load' });
    const messages = Array.from({ length: 1000 }, (_, i) => ({
      role: (i % 2 ? 'assistant' : 'user') as 'user' | 'assistant',
      content: `message ${i}: ${'lorem ipsum '.repeat(10)}`,
    }));
    await memory.sessions.save({ session: { id: session.id }, messages });
    for (let i = 0; i < 5; i++) await memory.sessions.load(session.id);
    const times = await timeEach(50, () => memory.sessions.load(session.id));
    const rawTimes = await timeEach(50, () =>
      raw.query(
        "SELECT * FROM agentmem.memories WHERE tenant_id = 'bench' AND session_id = $1 AND deleted_at IS NULL ORDER BY position, id",
        [session.id],
      ),
    );
    results.session_load_1000 = { agentmem_ms: summarize(times), baseline_raw_select_ms: summarize(rawTimes) };
  }

  // 4. Hybrid search over ATOMS atoms in TENANTS tenants; recall@10 of the vector half vs exact under the tenant filter.
  {
    const perTenant = Math.ceil(ATOMS / TENANTS);
    const loadStart = performance.now();
    for (let t = 0; t < TENANTS; t++) {
      const store = memory.forTenant(`corpus-${t}`);
      const atoms = corpus(perTenant, 100 + t);
      for (let start = 0; start < atoms.length; start += 5000) await store.atoms.upsert(atoms.slice(start, start + 5000));
      process.stderr.write(`corpus: ${(t + 1) * perTenant} atoms loaded\n`);
    }
    const loadSeconds = (performance.now() - loadStart) / 1000;
    await raw.query('ANALYZE agentmem.knowledge_atoms');
    const rand = mulberry32(7);
    const queries = Array.from({ length: QUERIES }, () =>
      Array.from({ length: 4 }, () => WORDS[Math.floor(rand() * WORDS.length)]).join(' '),
    );
    const store = memory.forTenant('corpus-3');
    for (const q of queries.slice(0, 10)) await store.atoms.search(q, { mode: 'hybrid' });
    const hybridTimes = await timeEach(QUERIES, (i) => store.atoms.search(queries[i] as string, { mode: 'hybrid', limit: 10 }));
    const embedder = new LocalHashEmbedder(384);
    // recall@10 of the vector half against an exact scan, with the default strategy
    // (exact for small filtered sets) and with the HNSW index forced (exactThreshold 0).
    const recall = async (candidate: typeof store) => {
      let hits = 0;
      let method = '';
      for (const q of queries) {
        const approx = await candidate.atoms.search(q, { mode: 'vector', limit: 10 });
        method = approx.vectorMethod ?? '';
        const vector = (await embedder.embed([q]))[0] as number[];
        const client = await raw.connect();
        try {
          await client.query('BEGIN');
          await client.query('SET LOCAL enable_indexscan = off');
          const exact = await client.query<{ atom_id: string }>(
            `SELECT atom_id FROM agentmem.knowledge_atoms WHERE tenant_id = 'corpus-3' AND deleted_at IS NULL AND embedding_dim = 384
              ORDER BY (embedding::vector(384)) <=> $1::vector(384), atom_id LIMIT 10`,
            [`[${vector.join(',')}]`],
          );
          await client.query('COMMIT');
          const truth = new Set(exact.rows.map((r) => r.atom_id));
          hits += approx.results.filter((r) => truth.has(r.atom.atomId)).length;
        } finally {
          client.release();
        }
      }
      return { method, recall: Number((hits / (QUERIES * 10)).toFixed(4)) };
    };
    const viaDefault = await recall(store);
    const hnswOnly = new AgentMemory(
      store.context.with({ search: { ...store.context.search, exactThreshold: 0 } }),
      store.config,
      undefined,
    );
    const viaIndex = await recall(hnswOnly);
    const hnswTimes = await timeEach(QUERIES, (i) => hnswOnly.atoms.search(queries[i] as string, { mode: 'hybrid', limit: 10 }));
    results.hybrid_search = {
      atoms: perTenant * TENANTS,
      tenants: TENANTS,
      atoms_per_tenant: perTenant,
      corpus_load_rows_per_second: Math.round((perTenant * TENANTS) / loadSeconds),
      hybrid_ms: summarize(hybridTimes),
      vector_method: viaDefault.method,
      recall_at_10_vs_exact: viaDefault.recall,
      hnsw_forced: {
        hybrid_ms: summarize(hnswTimes),
        vector_method: viaIndex.method,
        recall_at_10_vs_exact: viaIndex.recall,
        ef_search: store.context.search.efSearch,
      },
      target_recall: 0.95,
    };
  }
  await raw.end();
  await memory.close();
  console.log(JSON.stringify(results, null, 2));
} finally {
  await cluster.stop();
}
