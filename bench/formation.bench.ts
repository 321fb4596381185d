/**
 * Memory formation, measured on a real server with its baselines in the same run:
 *   - the library's own cost per extracted memory (reading the messages and the user's memories,
 *     checking the model's output, deduplicating, superseding, the history and the watermark), with
 *     the AI SDK's test model answering after a fixed latency that is measured and taken out;
 *   - working-memory updates from 1, 4 and 16 writers at once against a raw
 *     `UPDATE … SET content = content || $1` of the same row (which keeps the row's version, so the
 *     change history records nothing), and against the same UPDATE with the version bumped (the
 *     history records it, as it records every agentmem write), the order rotated each sitting,
 *     and the updates lost: agentmem's merge (in the server) against a raw read-modify-write of
 *     that row (SELECT, merge in the client, UPDATE), the way a document store without one does it.
 * Prints JSON (min–median–max over BENCH_SITTINGS sittings).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { MockLanguageModelV3 } from 'ai/test';
import pg from 'pg';
import { loadConfig } from '../src/index.js';
import { Runtime } from '../src/runtime/index.js';
import { startCluster } from '../test/harness/postgres.js';
import { LIBRARY, rotation, spread } from './stats.js';

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const SITTINGS = env('BENCH_SITTINGS', 3);
const SESSIONS = env('BENCH_FORMATION_SESSIONS', 40);
const DECISIONS = env('BENCH_FORMATION_DECISIONS', 8);
const MODEL_MS = env('BENCH_FORMATION_MODEL_MS', 20);
const UPDATES = env('BENCH_FORMATION_UPDATES', 400);
const WRITERS = (process.env.BENCH_FORMATION_WRITERS ?? '1,4,16').split(',').map(Number);
const SERVER = { shared_buffers: '512MB', max_wal_size: '4GB' };

const usage = {
  inputTokens: { total: 500, noCache: 500, cacheRead: undefined, cacheWrite: undefined },
  outputTokens: { total: 100, text: 100, reasoning: undefined },
};

const out: Record<string, unknown> = { bench: 'formation', library: LIBRARY, server: { postgres: '15 (harness, loopback)', ...SERVER } };
const cluster = await startCluster(1, undefined, SERVER);
const server = cluster.servers[0] as (typeof cluster.servers)[0];
const raw = new pg.Pool({ connectionString: server.url(), max: 20 });
// An idle connection the stopping server ends must not end the bench before it prints.
raw.on('error', () => undefined);
try {
  const config = await loadConfig({
    cwd: mkdtempSync(join(tmpdir(), 'agentmem-bench-')),
    env: {},
    overrides: { providers: [{ name: 'bench', url: server.url(), pool: { max: 20 } }], workingMemory: { budgetTokens: 1_000_000 } },
  });
  const runtime = Runtime.fromConfig(config);
  let modelMs = 0;
  let call = 0;
  // Each call adds DECISIONS new facts (distinct, so none is a duplicate) and supersedes the first one the model is shown.
  const model = new MockLanguageModelV3({
    modelId: 'fixed-latency',
    doGenerate: async (options) => {
      const started = performance.now();
      await sleep(MODEL_MS);
      const user = options.prompt.find((m) => m.role === 'user');
      const text = user && Array.isArray(user.content) ? (user.content[0] as { text: string }).text : '{}';
      const known = (JSON.parse(text) as { known_memories: { id: string }[] }).known_memories;
      const n = call++;
      const decisions = [
        ...Array.from({ length: DECISIONS - 1 }, (_, i) => ({
          op: 'ADD',
          type: 'fact',
          content: `Fact ${i} of call ${n}: the user owns ${i + n} plants`,
        })),
        known[0]
          ? { op: 'SUPERSEDE', id: known[0].id, content: `Superseded in call ${n}` }
          : { op: 'ADD', type: 'preference', content: `Likes ${n}` },
      ];
      const reply = {
        content: [{ type: 'text' as const, text: JSON.stringify({ decisions }) }],
        finishReason: { unified: 'stop' as const, raw: 'stop' },
        usage,
        warnings: [],
      };
      modelMs += performance.now() - started;
      return reply;
    },
  });
  const memory = (await runtime.memory({ migrate: true, model })).forTenant('bench');
  await memory.settings.list();

  // 1. The library's cost per extracted memory.
  const perMemory: number[] = [];
  for (let sitting = 0; sitting < SITTINGS; sitting++) {
    const sessions = [];
    for (let s = 0; s < SESSIONS; s++) {
      const session = await memory.sessions.create({ userId: `user-${sitting}-${s % 10}` });
      await memory.sessions.addMessages(session.id, [
        { role: 'user', content: `I just bought ${s} plants and moved to a bigger flat.` },
        { role: 'assistant', content: 'Congratulations on the new flat!' },
      ]);
      sessions.push(session.id);
    }
    modelMs = 0;
    let written = 0;
    const started = performance.now();
    for (const id of sessions) {
      const report = await memory.extract(id);
      written += report.added.length + report.superseded.length + report.duplicates.length;
    }
    perMemory.push((performance.now() - started - modelMs) / written);
  }
  out.extraction_library_ms_per_memory = {
    ...spread(perMemory),
    decisions_per_call: DECISIONS,
    model_latency_ms: MODEL_MS,
    target_below: 2,
  };

  // 2. Working memory under concurrent writers, against a raw UPDATE of the same row.
  const working: Record<string, unknown> = {};
  const keysLike = (doc: Record<string, unknown>, prefix: string) => Object.keys(doc).filter((k) => k.startsWith(prefix)).length;
  for (const writers of WRITERS) {
    const ratios: number[] = [];
    const versionedRatios: number[] = [];
    const lostRaw: number[] = [];
    const lostOurs: number[] = [];
    const each = Math.max(1, Math.floor(UPDATES / writers));
    const inParallel = (update: (w: number, i: number) => Promise<unknown>) =>
      Promise.all(
        Array.from({ length: writers }, async (_, w) => {
          for (let i = 0; i < each; i++) await update(w, i);
        }),
      );
    for (let sitting = 0; sitting < SITTINGS; sitting++) {
      const scope = { userId: `wm-${writers}-${sitting}` };
      await memory.workingMemory.update(scope, { started: sitting });
      const { rows: found } = await raw.query<{ id: string }>(
        `SELECT id::text AS id FROM agentmem.memories WHERE tenant_id = 'bench' AND memory_type = 'working_memory' AND user_id = $1`,
        [scope.userId],
      );
      const id = found[0]?.id;
      // Each side starts from the same empty document: the cost of an update grows with the document.
      const timed = async (run: () => Promise<unknown>) => {
        await raw.query(`UPDATE agentmem.memories SET content = '{}' WHERE tenant_id = 'bench' AND id = $1`, [id]);
        const started = performance.now();
        await run();
        return performance.now() - started;
      };
      const ours = () => timed(() => inParallel((w, i) => memory.workingMemory.update(scope, { [`w${w}-${i}`]: i })));
      const rawUpdate = (bumpVersion: boolean) => () =>
        timed(() =>
          inParallel((w, i) =>
            raw.query(
              `UPDATE agentmem.memories SET content = content || $2::jsonb${bumpVersion ? ', version = version + 1' : ''}
                WHERE tenant_id = 'bench' AND id = $1`,
              [id, JSON.stringify({ [`r${w}-${i}`]: i })],
            ),
          ),
        );
      const oursThenCount = async () => {
        const ms = await ours();
        const doc = (await memory.workingMemory.get(scope)).content as Record<string, unknown>;
        lostOurs.push(writers * each - keysLike(doc, 'w'));
        return ms;
      };
      // The order rotated every sitting.
      const sides = [oursThenCount, rawUpdate(false), rawUpdate(true)];
      const ms: number[] = [0, 0, 0];
      for (const side of rotation([...sides.keys()], sitting)) ms[side] = await (sides[side] as () => Promise<number>)();
      const [oursMs = 0, rawMs = 0, versionedMs = 0] = ms;
      ratios.push(rawMs / oursMs);
      versionedRatios.push(versionedMs / oursMs);
      // A read-modify-write in the client, of the same row: what a store without a server-side merge does.
      await raw.query(`UPDATE agentmem.memories SET content = '{}' WHERE tenant_id = 'bench' AND id = $1`, [id]);
      await inParallel(async (w, i) => {
        const { rows } = await raw.query<{ content: Record<string, unknown> }>(
          `SELECT content FROM agentmem.memories WHERE tenant_id = 'bench' AND id = $1`,
          [id],
        );
        await raw.query(`UPDATE agentmem.memories SET content = $2 WHERE tenant_id = 'bench' AND id = $1`, [
          id,
          JSON.stringify({ ...rows[0]?.content, [`m${w}-${i}`]: i }),
        ]);
      });
      const doc = (await memory.workingMemory.get(scope)).content as Record<string, unknown>;
      lostRaw.push(writers * each - keysLike(doc, 'm'));
    }
    working[`writers_${writers}`] = {
      updates: writers * each,
      throughput_ratio_vs_raw_update: spread(ratios),
      throughput_ratio_vs_versioned_raw_update: spread(versionedRatios),
      lost_updates: { agentmem: spread(lostOurs), raw_read_modify_write: spread(lostRaw) },
    };
  }
  out.working_memory = { ...working, target_ratio: 0.8, target_lost: 0 };
  await runtime.close();
} finally {
  await raw.end();
  await cluster.stop();
}
console.log(JSON.stringify(out, null, 2));
