import { AgentmemError } from '../errors/index.js';
import type { Provider, ProviderSet } from '../providers/index.js';
import type { MigrationRun, MigrationStatus, Migrator } from './migrator.js';

export type MigrateAction = { kind: 'up'; to?: number } | { kind: 'down'; to?: number } | { kind: 'status' };

export interface ProviderMigrationResult {
  provider: string;
  /** False when the provider failed, or (status) holds an edited migration. */
  ok: boolean;
  run?: MigrationRun;
  status?: MigrationStatus;
  error?: { code: string; message: string };
}

/**
 * Run one migrate action on each named provider, directly (never through
 * failover), one after another. A provider that fails is reported and the
 * others still run, so one bad provider does not hide the state of the rest.
 */
export async function migrateProviders(
  providers: ProviderSet,
  names: string[],
  action: MigrateAction,
  migratorFor: (provider: Provider) => Migrator,
): Promise<ProviderMigrationResult[]> {
  const results: ProviderMigrationResult[] = [];
  for (const name of names) {
    try {
      const migrator = migratorFor(await providers.get(name));
      if (action.kind === 'status') {
        const status = await migrator.status();
        results.push({ provider: name, ok: status.applied.every((a) => a.state !== 'checksum_mismatch'), status });
      } else {
        const to = action.to === undefined ? {} : { to: action.to };
        const run = action.kind === 'up' ? await migrator.up(to) : await migrator.down(to);
        results.push({ provider: name, ok: true, run });
      }
    } catch (error) {
      const code = error instanceof AgentmemError ? error.code : 'INTERNAL';
      results.push({ provider: name, ok: false, error: { code, message: (error as Error).message } });
    }
  }
  return results;
}
