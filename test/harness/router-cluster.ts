import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { type AgentMemory, type AgentmemConfig, createMemory, loadConfig } from '../../src/index.js';
import { PgProvider, type RouterEvent } from '../../src/ops/index.js';
import { Runtime } from '../../src/runtime/index.js';
import { type PgCluster, startCluster } from './postgres.js';
import { providerConfig } from './providers.js';

/** Apply the schema to every server directly (as `agentmem migrate up --all` does), through the runtime as the CLI does. */
export async function migrateAll(cluster: PgCluster, urls?: string[]): Promise<void> {
  const config = await loadConfig({
    cwd: mkdtempSync(join(tmpdir(), 'agentmem-migrate-')),
    env: {},
    overrides: { providers: cluster.servers.map((s, i) => ({ name: s.name, url: urls?.[i] ?? s.url() })) },
  });
  const runtime = Runtime.fromConfig(config);
  try {
    for (const provider of await runtime.allProviders()) await runtime.migrator(provider).up();
  } finally {
    await runtime.close();
  }
}

/**
 * A test file's servers: started (and with `migrate`, migrated) before its
 * own set-up, stopped after its own tear-down (vitest runs after-hooks in
 * reverse order). Use it in hooks and tests, once it is up.
 */
export function useCluster(size: number, options: { migrate?: boolean; names?: string[] } = {}): PgCluster {
  let started: PgCluster | undefined;
  beforeAll(async () => {
    started = await startCluster(size, options.names);
    if (options.migrate) await migrateAll(started);
  });
  afterAll(async () => {
    await started?.stop();
  });
  const cluster = (): PgCluster => {
    if (!started) throw new Error('the cluster starts in beforeAll: use it in a hook or a test');
    return started;
  };
  return new Proxy({} as PgCluster, {
    get: (_target, key) => {
      const value = Reflect.get(cluster(), key);
      return typeof value === 'function' ? value.bind(cluster()) : value;
    },
    ownKeys: () => Reflect.ownKeys(cluster()),
    getOwnPropertyDescriptor: (_target, key) => ({ ...Reflect.getOwnPropertyDescriptor(cluster(), key), configurable: true }),
  });
}

export interface RoutedStore {
  memory: AgentMemory;
  config: AgentmemConfig;
  events: (RouterEvent & { at: string })[];
  close(): Promise<void>;
}

/** A store over the cluster's servers (p1 primary), with fast timeouts a test can afford. */
export async function routedStore(
  cluster: PgCluster,
  options: {
    urls?: string[];
    /** Each provider's directUrl (replication, verify, migrations), when it differs from its url. */
    directUrls?: (string | undefined)[];
    readMode?: 'primary' | 'nearest';
    queryMs?: number;
    connectMs?: number;
    /** Off unless asked for: most router tests look at one provider's rows at a time. */
    replication?: { enabled?: boolean; ack?: 'async' | 'sync'; intervalMs?: number };
    tenant?: string;
  } = {},
): Promise<RoutedStore> {
  const config = await loadConfig({
    cwd: mkdtempSync(join(tmpdir(), 'agentmem-router-')),
    env: {},
    overrides: {
      providers: cluster.servers.map((s, i) => ({
        name: s.name,
        url: options.urls?.[i] ?? s.url(),
        ...(options.directUrls?.[i] ? { directUrl: options.directUrls[i] } : {}),
        pool: { max: 8 },
        timeouts: { connectMs: options.connectMs ?? 1000, queryMs: options.queryMs ?? 5000, statementMs: 5000, idleInTransactionMs: 5000 },
      })),
      replication: { enabled: false, intervalMs: 200, ack: 'async', batchSize: 1000, ...options.replication },
      router: {
        readMode: options.readMode ?? 'primary',
        probeIntervalMs: 250,
        failureThreshold: 3,
        graceMs: 2000,
        breakMs: 300,
      },
    },
  });
  const memory = await createMemory({ workers: false, config, tenant: options.tenant ?? 'router-test' });
  const events: (RouterEvent & { at: string })[] = [];
  memory.router?.on('event', (event) => events.push(event));
  return { memory, config, events, close: () => memory.close() };
}

/** Every live row id of a tenant's memories, per reachable server. */
export async function idsOn(cluster: PgCluster, tenant: string): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>();
  for (const server of cluster.servers) {
    if (!server.isRunning()) continue;
    const provider = new PgProvider(providerConfig(server));
    try {
      const { rows } = await provider.query<{ id: string }>(
        'SELECT id FROM agentmem.memories WHERE tenant_id = $1 AND deleted_at IS NULL',
        [tenant],
      );
      out.set(server.name, new Set(rows.map((r) => r.id)));
    } finally {
      await provider.close();
    }
  }
  return out;
}
