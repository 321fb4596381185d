import { arch, platform, release } from 'node:os';
import { listBackups } from '../backup/index.js';
import { type AgentmemConfig, redactDeep } from '../config/index.js';
import { AGENTMEM_VERSION, installedVersion } from '../core/version.js';
import { AgentmemError } from '../errors/index.js';
import type { ProviderSet } from '../providers/index.js';
import type { Runtime } from '../runtime/index.js';
import { backupFreshness, openBackupStore } from './backup.js';
import { checkHealth } from './health.js';
import { tlsConnectionCheck } from './self-test.js';
import { systemStatus } from './status.js';

/** A part of the report: what was found, or why it could not be. */
export type Part<T> = { ok: true; value: T } | { ok: false; error: { code: string; message: string } };

export interface DoctorReport {
  generatedAt: string;
  versions: { agentmem: string; node: string; os: string; packages: Record<string, string> };
  /** The configuration as loaded, secrets redacted. */
  config: Part<unknown>;
  status: Part<Awaited<ReturnType<typeof systemStatus>>>;
  tls: Part<Record<string, { status: string; detail: string }>>;
  health: Part<Awaited<ReturnType<typeof checkHealth>>>;
  embeddings: Part<unknown>;
  backups: Part<unknown>;
  /** The errors every part saw, newest known first: providers down, breakers opened, failovers, a failing embedder or backup store. */
  errors: { source: string; message: string; at?: string }[];
}

const DEPENDENCIES = ['pg', '@electric-sql/pglite', '@electric-sql/pglite-pgvector', 'zod', 'fastify', '@modelcontextprotocol/sdk'];

async function part<T>(gather: () => Promise<T>): Promise<Part<T>> {
  try {
    return { ok: true, value: await gather() };
  } catch (error) {
    const code = error instanceof AgentmemError ? error.code : 'INTERNAL';
    return { ok: false, error: { code, message: (error as Error).message } };
  }
}

export async function doctorReport(
  config: AgentmemConfig,
  providers: ProviderSet,
  runtime: Runtime,
  options: { timeoutMs?: number } = {},
): Promise<DoctorReport> {
  const status = await part(() => systemStatus(config, providers));
  const tls = await part(async () => {
    const checks: Record<string, { status: string; detail: string }> = {};
    for (const resolved of providers.configs) {
      const [state, detail] = await tlsConnectionCheck(resolved, await providers.get(resolved.name)).catch(
        (error: Error) => ['FAIL', `no connection: ${error.message}`] as const,
      );
      checks[resolved.name] = { status: state, detail };
    }
    return checks;
  });
  const health = await part(() => checkHealth(config, providers, { timeoutMs: options.timeoutMs ?? 5000 }));
  const embeddings = await part(() => runtime.embeddingWorker().status());
  const backups = await part(async () => {
    const store = openBackupStore(config);
    try {
      const listing = await listBackups(store);
      return {
        location: store.location,
        newest: listing.backups[0] ?? null,
        incomplete: listing.incomplete.length,
        ...backupFreshness(config, listing),
      };
    } finally {
      store.close?.();
    }
  });

  const errors: DoctorReport['errors'] = [];
  for (const [source, found] of Object.entries({ status, tls, health, embeddings, backups }))
    if (!found.ok) errors.push({ source, message: `${found.error.code}: ${found.error.message}` });
  if (status.ok) {
    for (const p of status.value.providers)
      if (p.error) errors.push({ source: `provider ${p.name}`, message: `${p.error.code}: ${p.error.message}` });
    for (const event of [...status.value.recentEvents].reverse())
      if ('reason' in event && event.reason) errors.push({ source: `router ${event.type}`, message: event.reason, at: event.at });
  }
  if (health.ok) for (const reason of health.value.reasons) errors.push({ source: 'health', message: reason, at: health.value.checkedAt });
  if (embeddings.ok) {
    const { lastError } = embeddings.value as { lastError?: string | null };
    if (lastError) errors.push({ source: 'embedding worker', message: lastError });
  }

  return {
    generatedAt: new Date().toISOString(),
    versions: {
      agentmem: AGENTMEM_VERSION,
      node: process.version,
      os: `${platform()} ${release()} ${arch()}`,
      packages: Object.fromEntries(DEPENDENCIES.map((name) => [name, installedVersion(name)])),
    },
    config: { ok: true, value: redactDeep(config) },
    status,
    tls,
    health,
    embeddings,
    backups,
    errors,
  };
}
