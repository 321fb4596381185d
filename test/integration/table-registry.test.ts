import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tombstoneSet } from '../../src/core/tables.js';
import { PgProvider, readCatalog, TABLES } from '../../src/ops/index.js';
import { providerConfig } from '../harness/providers.js';
import { useCluster } from '../harness/router-cluster.js';

/**
 * The table registry (src/core/tables.ts) is the one definition every
 * column list derives from: it must know exactly the tables and columns a
 * freshly migrated server has, with the same types. A column a migration adds
 * and the registry misses would silently not replicate, verify or back up.
 */
const cluster = useCluster(1, { migrate: true });
let provider: PgProvider;
beforeAll(async () => {
  provider = new PgProvider(providerConfig(cluster.servers[0]!));
});
afterAll(async () => {
  await provider?.close();
});

describe('table registry', () => {
  it('matches the catalog of a freshly migrated server: every table, every column, every type, every key', async () => {
    const catalog = await readCatalog(provider, 'agentmem');
    expect(Object.keys(catalog.tables).sort()).toEqual(TABLES.map((t) => t.name).sort());
    for (const table of TABLES) {
      const live = catalog.tables[table.name];
      const columns = Object.fromEntries(Object.entries(live?.columns ?? {}).map(([name, c]) => [name, c.type]));
      expect(columns, table.name).toEqual(Object.fromEntries(table.columns.map((c) => [c.name, c.type])));
      const generated = Object.entries(live?.columns ?? {})
        .filter(([, c]) => c.generated)
        .map(([name]) => name);
      expect(generated, table.name).toEqual(table.columns.filter((c) => c.role === 'generated').map((c) => c.name));
      const primary = Object.values(live?.constraints ?? {}).find((c) => c.kind === 'primary key');
      expect(primary?.definition, table.name).toBe(`PRIMARY KEY (${table.key.join(', ')})`);
    }
  });

  it('knows which tables row-level security guards and which record their changes in the history', async () => {
    const { rows } = await provider.query<{ name: string; rls: boolean; recorded: boolean }>(
      `SELECT c.relname AS name, c.relrowsecurity AS rls,
              EXISTS (SELECT 1 FROM pg_trigger g WHERE g.tgrelid = c.oid AND g.tgname = c.relname || '_record_change') AS recorded
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'agentmem' AND c.relkind = 'r'`,
    );
    const live = Object.fromEntries(rows.map((r) => [r.name, r]));
    for (const table of TABLES) {
      expect(live[table.name]?.rls, `${table.name} row-level security`).toBe(table.rowLevelSecurity);
      expect(live[table.name]?.recorded, `${table.name} change history`).toBe(table.history);
    }
  });

  it('tombstones every memory the same way, whichever path deletes it', () => {
    const set = tombstoneSet('memories', '$1', '$2');
    for (const column of ['content', 'metadata', 'embedding', 'embedding_model', 'content_hash', 'tool_calls', 'extra'])
      expect(set).toContain(`${column} = `);
    expect(tombstoneSet('settings', '$1', '$2')).toBe('deleted_at = now(), version = $1, origin = $2');
  });
});
