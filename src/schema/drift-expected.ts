import { randomBytes } from 'node:crypto';
import { AgentmemError } from '../errors/index.js';
import type { Queryable } from '../providers/index.js';
import { inTransaction } from '../providers/index.js';
import { type Catalog, readCatalog } from './catalog.js';
import { templateValues } from './enums.js';
import { loadMigrations, type Migration, render } from './migrations.js';
import { bootstrapSql } from './migrator.js';

export interface DriftOptions {
  schema: string;
  embeddingDim?: number;
  migrations?: Migration[];
}

/**
 * What the code expects: the applied migrations, rendered with today's enums,
 * built in a scratch schema inside a transaction that is rolled back, and read
 * back from the catalog — so expected and live are compared in Postgres's own
 * canonical forms.
 */
export async function expectedCatalog(db: Queryable, options: DriftOptions, upTo: number): Promise<Catalog> {
  const scratch = `agentmem_expected_${randomBytes(4).toString('hex')}`;
  const migrations = (options.migrations ?? loadMigrations()).filter((m) => m.version <= upTo);
  let catalog: Catalog | undefined;
  await inTransaction(db, async (tx) => {
    await tx.exec(bootstrapSql(scratch));
    for (const m of migrations) await tx.exec(render(m.up, templateValues(scratch, options.embeddingDim)));
    catalog = await readCatalog(tx, scratch);
    throw new RollbackScratch();
  }).catch((error) => {
    if (!(error instanceof RollbackScratch)) throw error;
  });
  if (!catalog) throw new AgentmemError('SCHEMA_DRIFT', 'could not build the expected schema');
  // The scratch schema's own name appears inside function bodies and trigger definitions.
  return JSON.parse(JSON.stringify(catalog).split(scratch).join('{{schema}}')) as Catalog;
}

class RollbackScratch extends Error {}

/**
 * Expected catalogs, per provider, schema, version and dimension: building one runs
 * DDL (rolled back), which the router's periodic drift check should not repeat.
 */
export const expectedCache = new Map<string, Catalog>();
