/**
 * The three kinds of database the memory API must work on: a native server
 * with pgvector, a native server where pgvector cannot be created (the role is
 * not a superuser — as on hosted plans without it), and the embedded PGlite.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { EmbeddingWorker } from '../../src/formation/embedding-worker.js';
import type { Embedder, VectorMethod } from '../../src/index.js';
import { type AgentMemory, type AgentmemConfig, loadConfig } from '../../src/index.js';
import { Runtime } from '../../src/runtime/index.js';
import { type PgCluster, startCluster, TEST_PASSWORD } from './postgres.js';

export interface Backend {
  name: 'pg-vector' | 'pg-novector' | 'pglite';
  config: AgentmemConfig;
  expectedVectorMethod: VectorMethod;
  /** A store for `tenant` (created once per tenant, closed by stop()). */
  memory(tenant: string): Promise<AgentMemory>;
  /** What the stores run on: its workers (the embedding worker) are the tests' to drive. */
  runtime: Runtime;
}

export interface Backends {
  list: Backend[];
  cluster: PgCluster;
  stop(): Promise<void>;
}

export async function startBackends(): Promise<Backends> {
  const cluster = await startCluster(2);
  const [withVector, withoutVector] = cluster.servers as [
    NonNullable<(typeof cluster.servers)[0]>,
    NonNullable<(typeof cluster.servers)[0]>,
  ];
  withoutVector.psql(`CREATE ROLE nv LOGIN PASSWORD '${TEST_PASSWORD}'`);
  withoutVector.psql('CREATE DATABASE novec OWNER nv');

  const runtimes: Runtime[] = [];
  const configFor = (providers: AgentmemConfig['providers'] | [], dataDir?: string) =>
    loadConfig({
      cwd: mkdtempSync(join(tmpdir(), 'agentmem-backend-')),
      env: {},
      overrides: {
        providers: providers as never,
        ...(dataDir ? { embedded: { dataDir } } : {}),
        limits: { maxContentBytes: 64 * 1024 },
        // Always walk the HNSW index (no exact ranking, no scan of sign bits), so the tests exercise it even on small data.
        search: { efSearch: 800, exactThreshold: 0, scanThreshold: 0 },
      },
    });
  const backend = async (name: Backend['name'], config: AgentmemConfig, expectedVectorMethod: VectorMethod): Promise<Backend> => {
    // One root store owns the connections; tenants share them.
    const runtime = Runtime.fromConfig(config);
    runtimes.push(runtime);
    const root = await runtime.memory({ migrate: true });
    await root.settings.list(); // runs the migrations now
    return { name, config, expectedVectorMethod, runtime, memory: async (tenant) => root.forTenant(tenant) };
  };
  const list = [
    await backend('pg-vector', await configFor([{ name: 'native', url: withVector.url() } as never]), 'hnsw'),
    await backend(
      'pg-novector',
      await configFor([{ name: 'novector', url: withoutVector.url({ user: 'nv', database: 'novec' }) } as never]),
      'exact-sql',
    ),
    await backend('pglite', await configFor([], join(mkdtempSync(join(tmpdir(), 'agentmem-pglite-')), 'data')), 'hnsw'),
  ];
  return {
    list,
    cluster,
    async stop() {
      await Promise.all(runtimes.map((r) => r.close()));
      await cluster.stop();
    },
  };
}

/**
 * The backends of one test file: started before its tests, stopped after.
 * `backend(name)` is one of them; `tenant()` a fresh tenant id starting with `prefix`.
 */
export function useBackends(prefix = 't'): { backend(name: Backend['name']): Backend; tenant(): string } {
  let backends: Backends | undefined;
  beforeAll(async () => {
    backends = await startBackends();
  });
  afterAll(async () => {
    await backends?.stop();
  });
  return {
    backend: (name) => backends?.list.find((b) => b.name === name) as Backend,
    tenant: () => `${prefix}-${randomUUID().slice(0, 8)}`,
  };
}

/** Embed everything that waits on the backend's writer with `embedder` (what the worker does in the background). */
export async function embedAll(b: Backend, embedder: Embedder): Promise<void> {
  await new EmbeddingWorker(() => b.runtime.writer(), embedder, {
    schema: b.config.schema,
    types: b.config.recall.embed.types,
    batchSize: 500,
    intervalMs: 50,
    leaseMs: 60_000,
  }).drain();
}
