import type { ResolvedProvider } from '../../src/config/index.js';
import { DEFAULT_TIMEOUTS } from '../../src/config/index.js';
import { PgProvider } from '../../src/providers/index.js';
import type { PgServer } from './postgres.js';

/** A provider config for a test server, with timeouts a test can afford to wait for. */
export function providerConfig(server: PgServer, overrides: Partial<ResolvedProvider> = {}): ResolvedProvider {
  return {
    name: server.name,
    kind: 'postgres',
    url: server.url(),
    role: 'primary',
    pool: { max: 5, idleTimeoutMs: 10_000 },
    timeouts: { ...DEFAULT_TIMEOUTS },
    ...overrides,
  };
}

export function pgProvider(server: PgServer, overrides: Partial<ResolvedProvider> = {}): PgProvider {
  return new PgProvider(providerConfig(server, overrides));
}

/** An embedded (PGlite) provider's config in `dataDir`, with timeouts long enough for its first migration. */
export function embeddedConfig(dataDir: string, timeouts: Partial<ResolvedProvider['timeouts']> = {}): ResolvedProvider {
  return {
    name: 'embedded',
    kind: 'embedded',
    role: 'primary',
    dataDir,
    pool: { max: 1, idleTimeoutMs: 0 },
    timeouts: { connectMs: 5000, queryMs: 15000, statementMs: 10000, idleInTransactionMs: 30000, ...timeouts },
  } as ResolvedProvider;
}
