/**
 * A row read by its key is found through the primary key, also on a table
 * filled faster than its statistics are taken (a bulk load before autovacuum
 * looks; the embedded database, which never analyzes by itself). Without
 * statistics the planner ties the key with memories_type_idx, a partial index
 * whose predicate (deleted_at IS NULL) every live read repeats, and walks every
 * row of the tenant through it: milliseconds per read instead of microseconds.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemory, loadConfig } from '../../src/index.js';
import { byKey } from '../../src/memory/context.js';
import { EmbeddedProvider } from '../../src/ops/index.js';
import { type PgCluster, startCluster } from '../harness/postgres.js';
import { embeddedConfig } from '../harness/providers.js';

const ROWS = 20_000;
/** Rows of one tenant, loaded in one statement: what an import or a busy minute leaves behind. */
const bulkLoad = (schema: string, tenant: string) => `
  INSERT INTO ${schema}.memories (tenant_id, id, memory_type, content, version, origin)
  SELECT '${tenant}', gen_random_uuid(), 'log', jsonb_build_object('n', g), g, 'bulk' FROM generate_series(1, ${ROWS}) g`;
const UNFENCED = (schema: string) => `SELECT * FROM ${schema}.memories WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL`;
const FENCED = (schema: string) => `SELECT * FROM ${byKey(`${schema}.memories`, 'tenant_id = $1 AND id = $2')} m WHERE deleted_at IS NULL`;

function planOf(rows: { 'QUERY PLAN': string }[]): string {
  return rows.map((row) => row['QUERY PLAN']).join('\n');
}

describe('reads by key on a table without statistics (PostgreSQL, autovacuum off)', () => {
  let cluster: PgCluster;
  let url: string;
  beforeAll(async () => {
    cluster = await startCluster(1, undefined, { autovacuum: 'off' });
    url = cluster.servers[0]!.url();
  });
  afterAll(async () => cluster?.stop());

  /** Index scans of the memories table so far, by index (a closed store's backends have flushed theirs). */
  async function indexScans(): Promise<Record<string, number>> {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query<{ index: string; scans: string }>(
        `SELECT indexrelname AS index, idx_scan AS scans FROM pg_stat_user_indexes WHERE relname = 'memories'`,
      );
      return Object.fromEntries(rows.map((row) => [row.index, Number(row.scans)]));
    } finally {
      await client.end();
    }
  }

  it('finds memories, items, working memory and the fact it supersedes through the primary key', async () => {
    const config = await loadConfig({
      cwd: mkdtempSync(join(tmpdir(), 'agentmem-keys-')),
      env: {},
      overrides: { providers: [{ name: 'pg', url } as never] },
    });
    let root = await createMemory({ workers: false, config, migrate: true });
    let memory = root.forTenant('acme');
    const schema = memory.storeContext.schema;
    const fact = await memory.memories.remember({ type: 'fact', content: { text: 'the pump is blue' } });
    await memory.items.put({ namespace: ['prefs'], key: 'colour', value: { v: 'blue' } });
    await memory.workingMemory.update({ userId: 'eve' }, { goal: 'paint the pump' });
    await memory.storeContext.write('bulk', (tx) => tx.query(bulkLoad(schema, 'acme')));
    // The conditions hold: with no statistics, the key and the partial index tie, and the partial index wins.
    const unfenced = await memory.storeContext.read('plan', async (tx) =>
      planOf((await tx.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${UNFENCED(schema)}`, ['acme', fact])).rows),
    );
    expect(unfenced).toContain('memories_type_idx');
    const fenced = await memory.storeContext.read('plan', async (tx) =>
      planOf((await tx.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${FENCED(schema)}`, ['acme', fact])).rows),
    );
    expect(fenced).toContain('memories_pkey');
    expect(fenced).not.toContain('memories_type_idx');
    await root.close();

    const before = await indexScans();
    root = await createMemory({ workers: false, config });
    memory = root.forTenant('acme');
    expect((await memory.memories.get(fact))?.content).toEqual({ text: 'the pump is blue' });
    expect((await memory.items.get(['prefs'], 'colour'))?.value).toEqual({ v: 'blue' });
    expect((await memory.workingMemory.get({ userId: 'eve' })).content).toEqual({ goal: 'paint the pump' });
    const newer = await memory.memories.remember({ type: 'fact', content: { text: 'the pump is red' }, supersedes: fact });
    expect((await memory.memories.get(fact))?.supersededBy).toBe(newer);
    await root.close();
    const after = await indexScans();
    expect(after.memories_type_idx).toBe(before.memories_type_idx);
    expect(after.memories_pkey! - before.memories_pkey!).toBeGreaterThanOrEqual(5);
  });
});

describe('the embedded database keeps its own statistics', () => {
  const config = (dataDir: string) => embeddedConfig(dataDir, { queryMs: 60000, statementMs: 60000 });

  it('analyzes a table that grew since its statistics were taken, again on close, and leaves the others', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'agentmem-stats-')), 'data');
    let provider = await EmbeddedProvider.open(config(dataDir));
    try {
      await provider.exec(`CREATE SCHEMA s;
        CREATE TABLE s.memories (tenant_id text, id uuid DEFAULT gen_random_uuid(), memory_type text, content jsonb, version bigint,
          origin text, created_at timestamptz DEFAULT now(), deleted_at timestamptz, PRIMARY KEY (tenant_id, id));
        CREATE INDEX memories_type_idx ON s.memories (tenant_id, memory_type, created_at DESC) WHERE deleted_at IS NULL;
        CREATE TABLE s.small (id int PRIMARY KEY);
        INSERT INTO s.small VALUES (1);`);
      await provider.exec(bulkLoad('s', 'acme'));
      const id = (await provider.query<{ id: string }>(`SELECT id::text AS id FROM s.memories LIMIT 1`)).rows[0]!.id;
      const plan = async () => planOf((await provider.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${UNFENCED('s')}`, ['acme', id])).rows);
      expect(await plan()).toContain('memories_type_idx');
      expect(await provider.analyzeStale()).toEqual(['s.memories']);
      expect(await plan()).toContain('memories_pkey');
      // Nothing grew since: nothing to do.
      expect(await provider.analyzeStale()).toEqual([]);
      // Grown by half again, then closed: the next process opens it with statistics.
      await provider.exec(bulkLoad('s', 'acme').replace(`${ROWS}`, `${ROWS / 2}`));
    } finally {
      await provider.close();
    }
    provider = await EmbeddedProvider.open(config(dataDir));
    try {
      const { rows } = await provider.query<{ reltuples: number }>(`SELECT reltuples FROM pg_class WHERE oid = 's.memories'::regclass`);
      expect(Number(rows[0]!.reltuples)).toBe(ROWS * 1.5);
      expect(await provider.analyzeStale()).toEqual([]);
    } finally {
      await provider.close();
    }
  });
});
