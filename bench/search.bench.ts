/**
 * Search as memory grows: text, vector and hybrid search through the memory
 * API, at each corpus size, in three cases:
 *   - one_tenant:     one tenant holds the whole corpus, no filter;
 *   - tenant_filter:  ten tenants share the corpus; one of them searches (10% of rows);
 *   - metadata_1pct:  the one tenant, filtered on metadata that 1% of its rows carry.
 * After the load: VACUUM ANALYZE and a CHECKPOINT (its time is reported), so
 * no backlog of dirty buffers is written out while searches are timed.
 * For each: latency over BENCH_QUERIES searches per mode (the modes taking
 * turns query by query; the buffers written meanwhile reported), recall@10 against an
 * exact search of the same filter (exact ranking with the indexes turned off,
 * for every mode; hybrid's truth fuses the exact text and exact vector
 * rankings), the exact search's own latency (the cost without an index: no baseline for the
 * indexed search's), and EXPLAIN
 * (ANALYZE, BUFFERS) of each half of a hybrid search. Prints JSON.
 *
 * The corpus and its embeddings are synthetic but shaped like real ones
 * (bench/corpus.ts): topics within fields, documents mixing two topics.
 * Sizes: BENCH_SEARCH_SIZES (10000,100000), BENCH_DIM (1536), BENCH_QUERIES
 * (200 per mode per sitting), BENCH_SITTINGS (3), BENCH_RECALL_QUERIES (100), BENCH_SEARCH_MULTI (1; 0 leaves out the ten-tenant corpus),
 * BENCH_SEARCH_SOLO (1; 0 leaves out the one-tenant corpus and its cases: the ten tenants alone, `size` rows in all),
 * BENCH_EF_SEARCH (the library's search.efSearch unless set), BENCH_EF_SWEEP (10,20,40,80,160: for the cases
 * the HNSW graph serves, vector recall and latency with each of these as search.efSearch, against the same
 * exact rankings; '' for none).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { DEFAULT_TIMEOUTS } from '../src/config/index.js';
import { tenantBucket } from '../src/core/tenant-bucket.js';
import { type AgentMemory, type AgentmemConfig, type AtomFilter, type AtomInput, createMemory, loadConfig } from '../src/index.js';
import { bucketGraph } from '../src/memory/atoms/rows.js';
import { efSearchFor } from '../src/memory/search/vector-index.js';
import { operationServerSettings } from '../src/providers/transaction.js';
import { startCluster } from '../test/harness/postgres.js';
import { atomText, corpus, queries, TopicEmbedder } from './corpus.js';
import { benchServer, LIBRARY, spread, summarize, timeEach } from './stats.js';

const SIZES = (process.env.BENCH_SEARCH_SIZES ?? '10000,100000').split(',').map(Number);
const DIM = Number(process.env.BENCH_DIM ?? 1536);
const QUERIES = Number(process.env.BENCH_QUERIES ?? 200);
/** Sittings of the timed loop per case: each mode's p95 in each, and its min–median–max (a target holds in the worst). */
const SITTINGS = Number(process.env.BENCH_SITTINGS ?? 3);
const RECALL_QUERIES = Number(process.env.BENCH_RECALL_QUERIES ?? 100);
const TENANTS = 10;
/** BENCH_SEARCH_MULTI=0: only the one-tenant corpus (no tenant_filter case): half the rows, for a quicker million-atom run. */
const MULTI = process.env.BENCH_SEARCH_MULTI !== '0';
/** BENCH_SEARCH_SOLO=0: only the ten-tenant corpus (the tenant_filter case), so a million rows in all are a million. */
const SOLO = process.env.BENCH_SEARCH_SOLO !== '0';
if (!SOLO && !MULTI) throw new Error('BENCH_SEARCH_SOLO=0 and BENCH_SEARCH_MULTI=0 leave nothing to search');
const EF_SEARCH = process.env.BENCH_EF_SEARCH ? Number(process.env.BENCH_EF_SEARCH) : undefined;
const EF_SWEEP = (process.env.BENCH_EF_SWEEP ?? '10,20,40,80,160').split(',').filter(Boolean).map(Number);
const SWEEP_QUERIES = 50;
const ROWS_PER_SIZE = (SOLO ? 1 : 0) + (MULTI ? 1 : 0);
const SERVER = { shared_buffers: '2GB', effective_cache_size: '8GB', maintenance_work_mem: '1GB', work_mem: '16MB' };
type SearchMode = 'text' | 'vector' | 'hybrid';
const MODES: SearchMode[] = ['text', 'vector', 'hybrid'];
const RRF_K = 60;
const POOL = 40;

const embedder = new TopicEmbedder(DIM);
const queryTexts = queries(Math.max(QUERIES, RECALL_QUERIES));
const out: Record<string, unknown> = {
  bench: 'search',
  library: LIBRARY,
  server: { postgres: benchServer(), ...SERVER },
  dimensions: DIM,
  embeddings: `${embedder.model}: synthetic, topic-structured (bench/corpus.ts)`,
  queries_per_mode: QUERIES,
  recall_queries: RECALL_QUERIES,
  targets: { hybrid_p95_ms_100k: 20, hybrid_p95_ms_1m: 50, recall_at_10: 0.95 },
};

/** Long literals (a query vector) would fill the plan: shortened. */
const shorten = (line: string) => line.replace(/'\[[^\]]{60,}\]'/g, "'[…]'");

/**
 * The corpus imported with its vectors through atoms.upsert, 2,000 at a time, with the vector
 * indexes deferred and built once. Each batch is embedded just before its upsert (a million
 * vectors would not fit in the heap at once); the synthetic embedder's time is not the import's.
 */
async function loadCorpus(memory: AgentMemory, size: number): Promise<Record<string, number>> {
  let embedMs = 0;
  let importMs = 0;
  const load = async (tenant: string, atoms: AtomInput[]) => {
    const store = memory.forTenant(tenant);
    for (let start = 0; start < atoms.length; start += 2000) {
      const batch = atoms.slice(start, start + 2000);
      let t = performance.now();
      const vectors = await embedder.embed(batch.map(atomText));
      embedMs += performance.now() - t;
      t = performance.now();
      await store.atoms.upsert(batch.map((a, i) => ({ ...a, embedding: vectors[i] as number[] })));
      importMs += performance.now() - t;
    }
  };
  let soloImportMs = 0;
  let buildStarted = 0;
  await memory.atoms.withVectorIndexesDeferred(
    async () => {
      if (SOLO) await load('solo', corpus(size, 1));
      soloImportMs = importMs;
      for (let t = 0; t < (MULTI ? TENANTS : 0); t++) await load(`multi-${t}`, corpus(size / TENANTS, 100 + t));
    },
    () => {
      buildStarted = performance.now();
    },
  );
  const buildMs = performance.now() - buildStarted;
  return {
    rows: size * ROWS_PER_SIZE,
    embed_seconds: Number((embedMs / 1000).toFixed(1)),
    ...(SOLO ? { one_tenant_import_seconds: Number((soloImportMs / 1000).toFixed(1)) } : {}),
    import_seconds: Number((importMs / 1000).toFixed(1)),
    import_rows_per_second: Math.round((size * ROWS_PER_SIZE) / (importMs / 1000)),
    index_build_seconds: Number((buildMs / 1000).toFixed(1)),
  };
}

interface Case {
  name: string;
  tenant: string;
  filter: AtomFilter;
  where: string;
}

async function exactRankings(raw: pg.Client, c: Case, query: string) {
  const [vector] = await embedder.embed([query]);
  await raw.query('BEGIN');
  try {
    // The truth: no index of any kind, every candidate ranked.
    await raw.query('SET LOCAL enable_indexscan = off; SET LOCAL enable_bitmapscan = off');
    const started = performance.now();
    const v = await raw.query<{ atom_id: string }>(
      `SELECT atom_id FROM agentmem.knowledge_atoms WHERE ${c.where}
        ORDER BY (embedding::vector(${DIM})) <=> $1::vector(${DIM}), atom_id LIMIT ${POOL}`,
      [`[${(vector as number[]).join(',')}]`],
    );
    const vectorMs = performance.now() - started;
    const t = await raw.query<{ atom_id: string }>(
      `SELECT atom_id FROM agentmem.knowledge_atoms, websearch_to_tsquery('english', $1) q WHERE ${c.where} AND search @@ q
        ORDER BY ts_rank_cd(search, q) DESC, atom_id LIMIT ${POOL}`,
      [query],
    );
    const fused = new Map<string, number>();
    for (const ranking of [t.rows, v.rows]) {
      ranking.forEach((r, i) => {
        fused.set(r.atom_id, (fused.get(r.atom_id) ?? 0) + 1 / (RRF_K + i + 1));
      });
    }
    const hybrid = [...fused.entries()]
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .slice(0, 10)
      .map(([id]) => id);
    return {
      vectorMs,
      truth: { text: t.rows.slice(0, 10).map((r) => r.atom_id), vector: v.rows.slice(0, 10).map((r) => r.atom_id), hybrid },
    };
  } finally {
    await raw.query('COMMIT');
  }
}

/**
 * EXPLAIN (ANALYZE, BUFFERS) of each half as the library runs it: in a transaction with the settings
 * every operation sets (JIT off among them: with it on, compiling the vector half's plan took 430 ms
 * at a million rows, which the library never pays) and the half's own.
 */
async function explain(raw: pg.Client, memory: AgentMemory, c: Case, operation: Record<string, string>): Promise<Record<string, string[]>> {
  const statements = await memory.atoms.searchStatements(queryTexts[0] as string, { mode: 'hybrid', limit: 10, filter: c.filter });
  const plans: Record<string, string[]> = {};
  for (const [leg, statement] of Object.entries(statements) as [
    string,
    { sql: string; params: unknown[]; settings?: { sql: string; params: unknown[] } },
  ][]) {
    await raw.query('BEGIN');
    try {
      for (const [name, value] of Object.entries(operation)) await raw.query('SELECT set_config($1, $2, true)', [name, value]);
      if (statement.settings) await raw.query(statement.settings.sql, statement.settings.params);
      const { rows } = await raw.query(`EXPLAIN (ANALYZE, BUFFERS) ${statement.sql}`, statement.params);
      plans[leg] = rows.map((r) => shorten(r['QUERY PLAN'] as string)).filter((line) => !line.includes('never executed'));
    } finally {
      await raw.query('COMMIT');
    }
  }
  return plans;
}

/** Buffers the server has written out so far (checkpoints, the background writer, backends). */
async function buffersWritten(raw: pg.Client): Promise<number> {
  const { rows } = await raw.query<{ n: string }>('SELECT buffers_checkpoint + buffers_clean + buffers_backend AS n FROM pg_stat_bgwriter');
  return Number(rows[0]?.n ?? 0);
}

/** The rows of the tenant's HNSW graph, as the catalog counts them (what the library scales ef_search by). */
async function graphSize(raw: pg.Client, tenant: string): Promise<number> {
  const { rows } = await raw.query<{ rows: number | null }>(
    `SELECT (SELECT greatest(reltuples, 0) FROM pg_class WHERE oid = to_regclass('agentmem.' || $1)) AS rows`,
    [bucketGraph(tenantBucket(tenant))],
  );
  return Number(rows[0]?.rows ?? 0);
}

/**
 * Vector recall and latency with each BENCH_EF_SWEEP value as search.efSearch (the ef_search the
 * graph's size makes of it alongside), against the exact rankings the case's recall used.
 */
async function efSweep(config: AgentmemConfig, c: Case, graphRows: number, truths: string[][]) {
  const sweep: Record<string, unknown>[] = [];
  for (const efSearch of EF_SWEEP) {
    const memory = await createMemory({
      workers: false,
      config: { ...config, search: { ...config.search, efSearch } },
      tenant: c.tenant,
      embedder,
    });
    try {
      const search = (i: number) =>
        memory.atoms.search(queryTexts[i % queryTexts.length] as string, { mode: 'vector', limit: 10, filter: c.filter });
      for (let i = 0; i < 10; i++) await search(i);
      let hits = 0;
      for (const [i, truth] of truths.entries()) {
        const got = new Set((await search(i)).results.map((r) => r.atom.atomId));
        hits += truth.filter((id) => got.has(id)).length / Math.max(1, Math.min(10, truth.length));
      }
      const times = await timeEach(SWEEP_QUERIES, async (i) => {
        await search(i);
      });
      sweep.push({
        ef_search_setting: efSearch,
        ef_search: efSearchFor(efSearch, graphRows),
        vector_recall_at_10: Number((hits / Math.max(1, truths.length)).toFixed(4)),
        vector_ms: summarize(times),
      });
    } finally {
      await memory.close();
    }
  }
  return sweep;
}

const sizes: Record<string, unknown>[] = [];
for (const size of SIZES) {
  // The graph of a million 1,536-dimension halfvecs takes about 3.5 GB: built in memory, or it crawls.
  const buildMemory = size >= 500_000 ? '6GB' : '1GB';
  const cluster = await startCluster(1, undefined, SERVER);
  try {
    const url = cluster.servers[0]?.url() as string;
    const config = await loadConfig({
      cwd: mkdtempSync(join(tmpdir(), 'agentmem-bench-search-')),
      env: {},
      overrides: {
        providers: [{ name: 'bench', url, pool: { max: 4 } }],
        embedder: { dimensions: DIM },
        search: { indexBuildMemory: buildMemory, ...(EF_SEARCH ? { efSearch: EF_SEARCH } : {}) },
      },
    });
    const memory = await createMemory({ workers: false, config, migrate: true, tenant: 'solo', embedder });
    await memory.settings.list();
    const loaded = await loadCorpus(memory, size);
    const raw = new pg.Client(url);
    await raw.connect();
    await raw.query('VACUUM ANALYZE agentmem.knowledge_atoms');
    // Whatever dirty buffers the load and the VACUUM leave (hint bits, the visibility map) are written
    // now, not by the checkpointer while searches are timed (and the CHECKPOINT's time says how much
    // there was: 0.2 s at a million atoms, so the bench's figures never had that in them).
    const checkpointStarted = performance.now();
    await raw.query('CHECKPOINT');
    loaded.checkpoint_seconds = Number(((performance.now() - checkpointStarted) / 1000).toFixed(1));
    const cases: Case[] = [
      ...(SOLO ? [{ name: 'one_tenant', tenant: 'solo', filter: {}, where: "tenant_id = 'solo'" }] : []),
      ...(MULTI ? [{ name: 'tenant_filter', tenant: 'multi-3', filter: {}, where: "tenant_id = 'multi-3'" }] : []),
      ...(SOLO
        ? [
            {
              name: 'metadata_1pct',
              tenant: 'solo',
              filter: { metadata: { site: 'site-5' } },
              where: `tenant_id = 'solo' AND metadata @> '{"site": "site-5"}'`,
            },
          ]
        : []),
    ];
    const results: Record<string, unknown> = {};
    for (const c of cases) {
      const store = memory.forTenant(c.tenant);
      const candidates = Number((await raw.query(`SELECT count(*) AS n FROM agentmem.knowledge_atoms WHERE ${c.where}`)).rows[0].n);
      const search = (mode: SearchMode, i: number) =>
        store.atoms.search(queryTexts[i % queryTexts.length] as string, { mode, limit: 10, filter: c.filter });
      for (const mode of MODES) for (let i = 0; i < 20; i++) await search(mode, i);
      const perMode: Record<string, unknown> = {};
      let method = '';
      // The modes take turns, query by query (their order rotating), so that whatever else the
      // machine does meanwhile falls on all three alike; the buffers written meanwhile are reported.
      const times: Record<string, number[]> = Object.fromEntries(MODES.map((mode) => [mode, []]));
      const p95s: Record<string, number[]> = Object.fromEntries(MODES.map((mode) => [mode, []]));
      const writtenBefore = await buffersWritten(raw);
      for (let sitting = 0; sitting < SITTINGS; sitting++) {
        const inSitting: Record<string, number[]> = Object.fromEntries(MODES.map((mode) => [mode, []]));
        for (let i = 0; i < QUERIES; i++) {
          for (let k = 0; k < MODES.length; k++) {
            const mode = MODES[(i + k) % MODES.length] as SearchMode;
            const started = performance.now();
            const result = await search(mode, i);
            inSitting[mode]?.push(performance.now() - started);
            if (mode === 'vector') method = result.vectorMethod ?? '';
          }
        }
        for (const mode of MODES) {
          times[mode]?.push(...(inSitting[mode] ?? []));
          p95s[mode]?.push(summarize(inSitting[mode] ?? []).p95);
        }
      }
      const target = size >= 1_000_000 ? 50 : size >= 100_000 ? 20 : undefined;
      for (const mode of MODES)
        perMode[mode] = {
          ms: summarize(times[mode] ?? []),
          p95_ms_by_sitting: { ...spread(p95s[mode] ?? []), ...(mode === 'hybrid' && target ? { target } : {}) },
        };
      const buffersWrittenWhileTimed = (await buffersWritten(raw)) - writtenBefore;
      // Recall against exact rankings of the same filter (their time is reported, as the cost without an index).
      const hits: Record<string, number> = { text: 0, vector: 0, hybrid: 0 };
      const judged: Record<string, number> = { text: 0, vector: 0, hybrid: 0 };
      const exactMs: number[] = [];
      const vectorTruths: string[][] = [];
      for (let i = 0; i < RECALL_QUERIES; i++) {
        const { truth, vectorMs } = await exactRankings(raw, c, queryTexts[i] as string);
        exactMs.push(vectorMs);
        vectorTruths.push(truth.vector);
        for (const mode of MODES) {
          const got = (await search(mode, i)).results.map((r) => r.atom.atomId);
          const expected = new Set(truth[mode as keyof typeof truth]);
          if (!expected.size) continue; // nothing to find (no atom matches the words): not a query recall can judge
          judged[mode] = (judged[mode] ?? 0) + 1;
          hits[mode] = (hits[mode] ?? 0) + got.filter((id) => expected.has(id)).length / Math.min(10, expected.size);
        }
      }
      for (const mode of MODES) {
        (perMode[mode] as Record<string, unknown>).recall_at_10 = Number(((hits[mode] ?? 0) / Math.max(1, judged[mode] ?? 0)).toFixed(4));
        (perMode[mode] as Record<string, unknown>).recall_queries = judged[mode];
      }
      const graphRows = await graphSize(raw, c.tenant);
      const graphCase = method === 'hnsw';
      results[c.name] = {
        candidates,
        vector_method: method,
        ...(graphCase ? { graph_rows: graphRows, ef_search_used: efSearchFor(config.search.efSearch, graphRows) } : {}),
        ...perMode,
        ...(graphCase && EF_SWEEP.length ? { ef_sweep: await efSweep(config, c, graphRows, vectorTruths) } : {}),
        // The exact ranking recall is judged against, with the indexes off: what recall costs without an index,
        // not a baseline for the indexed search's latency (which has none to compare with here).
        recall_truth_exact_vector_ms: summarize(exactMs),
        buffers_written_while_timed: buffersWrittenWhileTimed,
        explain: await explain(raw, store, c, operationServerSettings(config.providers[0]?.timeouts ?? DEFAULT_TIMEOUTS)),
      };
      process.stderr.write(`search bench: ${size} atoms, ${c.name} done\n`);
    }
    await raw.end();
    await memory.close();
    sizes.push({
      atoms_per_case_corpus: size,
      index_build_memory: buildMemory,
      ef_search: config.search.efSearch,
      load: loaded,
      cases: results,
    });
  } finally {
    await cluster.stop();
  }
}
out.sizes = sizes;
// Each case's hybrid p95 over the sittings, with its target where it has one (the page's table shows whether it holds).
out.hybrid_p95_ms_by_sitting = Object.fromEntries(
  sizes.flatMap((s) =>
    Object.entries(s.cases as Record<string, { hybrid: { p95_ms_by_sitting: unknown } }>).map(([name, c]) => [
      `${s.atoms_per_case_corpus} ${name}`,
      c.hybrid.p95_ms_by_sitting,
    ]),
  ),
);
// The growth table: hybrid p95 per size and case, in the worst sitting.
out.growth_hybrid_p95_ms = Object.fromEntries(
  sizes.map((s) => [
    String(s.atoms_per_case_corpus),
    Object.fromEntries(
      Object.entries(s.cases as Record<string, { hybrid: { p95_ms_by_sitting: { max: number } } }>).map(([name, c]) => [
        name,
        c.hybrid.p95_ms_by_sitting.max,
      ]),
    ),
  ]),
);
console.log(JSON.stringify(out, null, 2));
