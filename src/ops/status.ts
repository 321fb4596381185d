import type { AgentmemConfig } from '../config/index.js';
import { AgentmemError } from '../errors/index.js';
import { createEmbedder, describeEmbedder, missingEmbedderPackages } from '../memory/index.js';
import { type ProviderDescription, type ProviderSet, type RouterEvent, readRecentEvents } from '../providers/index.js';
import { Runtime } from '../runtime/index.js';
import { diffSchema, schemaOptions } from '../schema/index.js';

export interface ProviderStatus extends ProviderDescription {
  reachable: boolean;
  latencyMs?: number;
  serverVersion?: string;
  vector?: string | null;
  schemaVersion?: number;
  latestSchemaVersion?: number;
  pendingMigrations?: number;
  /** Schema drift against the code: blocking drift keeps writes away from this provider. */
  drift?: { blocking: boolean; differences: number; summary: string };
  error?: { code: string; message: string };
}

export interface SystemStatus {
  checkedAt: string;
  schema: string;
  configSources: string[];
  providers: ProviderStatus[];
  /** The newest router events (failover, failback, breaker changes) recorded by agentmem processes here. */
  recentEvents: (RouterEvent & { at: string })[];
  /** What embeds memories, messages and atoms: the built-in embedder matches words, a model matches meaning. */
  embedder: {
    kind: string;
    model: string;
    dimensions: number;
    matches: 'words' | 'meaning';
    /** Packages the configured embedder needs that are not installed (each embed fails until they are). */
    missingPackages?: string[];
  };
}

/** One direct look at each provider: reachable, how fast, which server, which schema version. */
export async function systemStatus(config: AgentmemConfig, providers: ProviderSet): Promise<SystemStatus> {
  const results: ProviderStatus[] = [];
  for (const name of providers.names) {
    const base = providers.configured(name);
    try {
      const provider = await providers.get(name);
      Object.assign(base, provider.describe());
      const started = performance.now();
      const { rows } = await provider.query<{ version: string; vector: string | null }>(
        `SELECT current_setting('server_version') AS version,
                (SELECT extversion FROM pg_extension WHERE extname = 'vector') AS vector`,
      );
      const latencyMs = Math.round((performance.now() - started) * 10) / 10;
      const migration = await Runtime.over(config, providers).migrator(provider).status();
      const drift = migration.current ? await diffSchema(provider, schemaOptions(config)) : undefined;
      results.push({
        ...base,
        reachable: true,
        latencyMs,
        serverVersion: rows[0]?.version ?? 'unknown',
        vector: rows[0]?.vector ?? null,
        schemaVersion: migration.current,
        latestSchemaVersion: migration.latest,
        pendingMigrations: migration.pending.length,
        ...(drift
          ? {
              drift: {
                blocking: drift.blocking,
                differences: drift.items.length,
                summary: drift.items.map((i) => `${i.severity} ${i.kind} ${i.object} ${i.change}`).join('; '),
              },
            }
          : {}),
      });
    } catch (error) {
      const code = error instanceof AgentmemError ? error.code : 'INTERNAL';
      results.push({ ...base, reachable: false, error: { code, message: (error as Error).message } });
    }
  }
  const missing = missingEmbedderPackages(config.embedder);
  return {
    checkedAt: new Date().toISOString(),
    schema: config.schema,
    configSources: config.sources,
    providers: results,
    recentEvents: readRecentEvents(config.router.eventLog),
    embedder: {
      kind: config.embedder.kind,
      ...describeEmbedder(createEmbedder(config.embedder)),
      ...(missing.length ? { missingPackages: missing } : {}),
    },
  };
}
