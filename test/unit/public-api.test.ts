import { describe, expect, it } from 'vitest';

/**
 * The public API is chosen, not accumulated: `agentmem` exports exactly these
 * names (the memory API, config, errors, metrics), and operations live in
 * `agentmem/ops`. Imported from the built package, as a user imports it.
 */
const MAIN = [
  'AccessIncompleteError',
  'AgentMemory',
  'AgentmemError',
  'BackupError',
  'CONFIG_DEFAULTS',
  'ChannelError',
  'ConfigError',
  'ConflictError',
  'DataDirLockedError',
  'EXPORT_FORMATS',
  'EmbedderError',
  'EmbeddingMismatchError',
  'MESSAGE_ROLES',
  'MigrationError',
  'NotDurableError',
  'NotFoundError',
  'OutcomeUnknownError',
  'ProviderNotFoundError',
  'ProviderTimeoutError',
  'ProviderUnavailableError',
  'QueryError',
  'SchemaMissingError',
  'UsageError',
  'ValidationError',
  'createEmbedder',
  'createMemory',
  'loadConfig',
  'metricsRegistry',
  'startMetricsServer',
  'validateAtom',
];

const OPS = [
  'checkHealth',
  'verifyDeployment',
  'Monitor',
  'computeSla',
  'systemStatus',
  'channelsFromConfig',
  'importLegacy',
  'rotateCredentials',
  'ProviderSet',
  'PgProvider',
  'EmbeddedProvider',
  'Router',
  'Replicator',
  'runSync',
  'syncStatus',
  'verifyProviders',
  'repairAndVerify',
  'purgeTombstones',
  'Migrator',
  'migrateProviders',
  'diffSchema',
  'fixSchema',
  'readCatalog',
  'TABLES',
  'runRetention',
  'eraseSubject',
  'readLedger',
  'verifyReport',
  'knownErasures',
];

describe('public API', () => {
  it('agentmem exports exactly the chosen names, each defined', async () => {
    const main = (await import('agentmem')) as Record<string, unknown>;
    expect(Object.keys(main).sort()).toEqual([...MAIN].sort());
    for (const name of MAIN) expect(main[name], name).toBeDefined();
  });

  it('agentmem/ops exports the operations', async () => {
    const ops = (await import('agentmem/ops')) as Record<string, unknown>;
    for (const name of OPS) expect(ops[name], name).toBeDefined();
  });
});
