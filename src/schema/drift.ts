import type { Provider, Queryable } from '../providers/index.js';
import { readCatalog } from './catalog.js';
import { type DriftOptions, expectedCache, expectedCatalog } from './drift-expected.js';
import { compareCatalogs, type DriftItem } from './drift-rules.js';
import { Migrator } from './migrator.js';

export type { DriftOptions } from './drift-expected.js';
export { compareCatalogs, type DriftItem, type DriftSeverity } from './drift-rules.js';

export interface DriftReport {
  provider: string;
  schema: string;
  schemaVersion: number;
  items: DriftItem[];
  /** True when some item is blocking: writes must not go to this provider. */
  blocking: boolean;
}

/** Compare one provider's live schema with what the code expects. Reads only (the scratch schema is rolled back). */
export async function diffSchema(app: Provider, options: DriftOptions): Promise<DriftReport> {
  // The direct connection: building the expected catalog runs (rolled-back) DDL, which an application role may not do.
  const provider = app.direct();
  const status = await new Migrator(provider, {
    schema: options.schema,
    ...(options.migrations ? { migrations: options.migrations } : {}),
  }).status();
  return provider.withConnection(async (db) => {
    const live = await readCatalog(db, options.schema);
    const cacheKey = options.migrations
      ? undefined
      : JSON.stringify([
          provider.name,
          provider.describe().target,
          options.schema,
          status.current,
          options.embeddingDim ?? null,
          live.extensions,
        ]);
    const expected = (cacheKey && expectedCache.get(cacheKey)) || (await expectedCatalog(db, options, status.current));
    if (cacheKey) expectedCache.set(cacheKey, expected);
    const items = compareCatalogs(expected, live, options.schema);
    if (status.pending.length) {
      items.push({
        object: 'schema_versions',
        kind: 'migrations',
        change: 'pending',
        severity: status.current === 0 ? 'blocking' : 'warning',
        expected: status.latest,
        actual: status.current,
        fix: [],
        destructive: false,
      });
    }
    await markDestructiveDrops(db, options.schema, items);
    return {
      provider: provider.name,
      schema: options.schema,
      schemaVersion: status.current,
      items,
      blocking: items.some((i) => i.severity === 'blocking'),
    };
  });
}

/** Dropping an extra column is destructive only when it holds data; say so per item. */
async function markDestructiveDrops(db: Queryable, schema: string, items: DriftItem[]): Promise<void> {
  for (const item of items) {
    if (item.kind !== 'column' || item.change !== 'unexpected') continue;
    const [table, column] = item.object.split('.') as [string, string];
    const { rows } = await db.query<{ used: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM ${schema}.${table} WHERE ${column} IS NOT NULL) AS used`,
    );
    item.destructive = Boolean(rows[0]?.used);
  }
}

export interface FixResult {
  provider: string;
  applied: string[];
  dryRun: boolean;
  before: DriftReport;
  after: DriftReport | undefined;
  refused: DriftItem[];
}

/**
 * Apply the fix SQL to one provider, directly, in one transaction, then diff
 * again to verify. Destructive fixes are refused unless `allowDestructive`.
 */
export async function fixSchema(
  app: Provider,
  options: DriftOptions & { dryRun?: boolean; allowDestructive?: boolean },
): Promise<FixResult> {
  // DDL runs on the direct connection (directUrl): the owner, in a session of its own.
  const provider = app.direct();
  const before = await diffSchema(provider, options);
  const refused = before.items.filter((i) => i.destructive && !options.allowDestructive);
  const statements = before.items.filter((i) => !refused.includes(i)).flatMap((i) => i.fix);
  if (options.dryRun || !statements.length) {
    return {
      provider: provider.name,
      applied: options.dryRun ? statements : [],
      dryRun: Boolean(options.dryRun),
      before,
      after: options.dryRun ? undefined : before,
      refused,
    };
  }
  await provider.transaction(async (tx) => {
    for (const sql of statements) await tx.exec(sql);
  });
  const after = await diffSchema(provider, options);
  return { provider: provider.name, applied: statements, dryRun: false, before, after, refused };
}
