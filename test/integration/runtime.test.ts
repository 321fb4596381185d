/**
 * The composition root: createMemory over a pg.Pool the application already
 * has (as LangGraph's and Mastra's Postgres packages accept one), and the
 * runtime every command builds with.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, createMemory, loadConfig } from '../../src/index.js';
import { Runtime } from '../../src/runtime/index.js';
import { useCluster } from '../harness/router-cluster.js';

const cluster = useCluster(1);
const pools: pg.Pool[] = [];
const poolOf = (database: string, options: pg.PoolConfig = {}) => {
  const pool = new pg.Pool({ connectionString: cluster.servers[0]!.url({ database }), max: 4, ...options });
  pools.push(pool);
  return pool;
};
const config = () => loadConfig({ cwd: mkdtempSync(join(tmpdir(), 'agentmem-runtime-')), env: {} });

beforeAll(async () => {
  cluster.servers[0]!.psql('CREATE DATABASE apps');
  cluster.servers[0]!.psql('CREATE DATABASE int8s');
});
afterAll(async () => {
  await Promise.all(pools.map((p) => p.end()));
});

describe('createMemory({ pool })', () => {
  it("runs on the caller's pool: migrates on first use, keeps memory, and leaves the pool open and theirs", async () => {
    const pool = poolOf('apps');
    const memory = await createMemory({ pool, tenant: 'acme', config: await config() });
    const session = await memory.sessions.create({ agentId: 'bot', userId: 'u1' });
    await memory.sessions.addMessage(session.id, { role: 'user', content: 'my order is late' });
    await memory.memories.remember({ type: 'decision', content: 'refund late orders', userId: 'u1' });
    expect((await memory.sessions.getMessages(session.id)).map((m) => m.content)).toEqual(['my order is late']);
    await memory.close();
    // The pool is the application's: still open, and the tables agentmem made are there.
    const { rows } = await pool.query<{ n: string }>('SELECT count(*)::text AS n FROM agentmem.memories');
    expect(Number(rows[0]?.n)).toBe(2);
    expect(pool.ending).toBe(false);
    // A second store on the same pool finds what the first kept.
    const again = await createMemory({ pool, tenant: 'acme', config: await config() });
    expect((await again.sessions.getMessages(session.id)).length).toBe(1);
    await again.close();
  });

  it('refuses, with the fix named, a pool that parses int8 into numbers (versions would lose precision)', async () => {
    const pool = poolOf('int8s', {
      types: {
        getTypeParser: ((oid: number, format?: 'text' | 'binary') => (oid === 20 ? Number : pg.types.getTypeParser(oid, format))) as never,
      },
    });
    const memory = await createMemory({ pool, tenant: 'acme', config: await config() });
    const error = await memory.sessions.create({}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/parses int8 into number; agentmem needs it as text/);
    await memory.close();
    expect(pool.ending).toBe(false);
  });
});

describe('Runtime', () => {
  it('builds migrators with the config, one replicator with its batch size, and closes what it opened', async () => {
    const c = await config();
    const runtime = Runtime.fromConfig({ ...c, replication: { ...c.replication, batchSize: 123 } });
    expect((runtime.replicator as unknown as { batchSize: number }).batchSize).toBe(123);
    expect(runtime.replicator).toBe(runtime.replicator);
    const [embedded] = await runtime.allProviders();
    const run = await runtime.migrator(embedded!).up();
    expect(run.current).toBeGreaterThan(0);
    await runtime.close();
    await expect(embedded!.query('SELECT 1')).rejects.toThrow();
  });

  it('an empty or blank tenant is an error, never the default tenant', async () => {
    const c = await config();
    for (const tenant of ['', ' ', 'a b'])
      await expect(createMemory({ config: c, tenant, workers: false }), JSON.stringify(tenant)).rejects.toMatchObject({
        code: 'VALIDATION',
      });
  });
});
