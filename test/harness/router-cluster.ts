import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AgentMemory, type AgentmemConfig, createMemory, loadConfig } from '../../src/index.js';
import { Migrator, PgProvider, type RouterEvent } from '../../src/ops/index.js';
import type { PgCluster } from './postgres.js';
import { providerConfig } from './providers.js';

/** Apply the schema to every server directly (as `agentmem migrate up --all` does). */
export async function migrateAll(cluster: PgCluster, urls?: string[]): Promise<void> {
  for (const [i, server] of cluster.servers.entries()) {
    const provider = new PgProvider(providerConfig(server, urls?.[i] ? { url: urls[i] } : {}));
    try {
      await new Migrator(provider, { schema: 'agentmem' }).up();
    } finally {
      await provider.close();
    }
  }
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
  const memory = await createMemory({ config, tenant: options.tenant ?? 'router-test' });
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
