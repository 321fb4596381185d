import { randomBytes } from 'node:crypto';
import { AgentmemError } from '../errors/index.js';
import type { Provider, Queryable } from '../providers/index.js';
import { inTransaction } from '../providers/index.js';
import { type Catalog, readCatalog, type TableCatalog } from './catalog.js';
import { templateValues } from './enums.js';
import { loadMigrations, type Migration, render } from './migrations.js';
import { bootstrapSql, Migrator } from './migrator.js';

/** blocking: writes fail or go uncaptured; error: security or integrity; warning: speed or defaults; info: extra objects. */
export type DriftSeverity = 'blocking' | 'error' | 'warning' | 'info';

export interface DriftItem {
  /** `table.object` or `function(args)`. */
  object: string;
  kind: 'table' | 'column' | 'constraint' | 'index' | 'policy' | 'row security' | 'trigger' | 'function' | 'migrations';
  change: 'missing' | 'changed' | 'unexpected' | 'pending';
  severity: DriftSeverity;
  expected?: unknown;
  actual?: unknown;
  /** SQL that brings the provider back to what the code expects (empty when only `migrate up` can). */
  fix: string[];
  /** The fix can lose data (drops a column that holds values, changes a type). */
  destructive: boolean;
}

export interface DriftReport {
  provider: string;
  schema: string;
  schemaVersion: number;
  items: DriftItem[];
  /** True when some item is blocking: writes must not go to this provider. */
  blocking: boolean;
}

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
async function expectedCatalog(db: Queryable, options: DriftOptions, upTo: number): Promise<Catalog> {
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

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * Expected catalogs, per provider, schema, version and dimension: building one runs
 * DDL (rolled back), which the router's periodic drift check should not repeat.
 */
const expectedCache = new Map<string, Catalog>();

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

export function compareCatalogs(expected: Catalog, live: Catalog, schema: string): DriftItem[] {
  const items: DriftItem[] = [];
  const q = (text: string) => text.split('{{schema}}.').join(`${schema}.`);
  for (const [name, want] of Object.entries(expected.tables)) {
    const have = live.tables[name];
    if (!have) {
      items.push({ object: name, kind: 'table', change: 'missing', severity: 'blocking', fix: [], destructive: false });
      continue;
    }
    compareTable(name, want, have, `${schema}.${name}`, q, items);
  }
  for (const name of Object.keys(live.tables)) {
    if (!expected.tables[name])
      items.push({ object: name, kind: 'table', change: 'unexpected', severity: 'info', fix: [], destructive: false });
  }
  for (const [name, def] of Object.entries(expected.functions)) {
    const have = live.functions[name];
    if (have === def) continue;
    items.push({
      object: name,
      kind: 'function',
      change: have === undefined ? 'missing' : 'changed',
      severity: 'blocking',
      expected: def,
      actual: have,
      fix: [q(def)],
      destructive: false,
    });
  }
  return items;
}

function compareTable(
  table: string,
  want: TableCatalog,
  have: TableCatalog,
  qualified: string,
  q: (s: string) => string,
  items: DriftItem[],
): void {
  const push = (item: Omit<DriftItem, 'destructive'> & { destructive?: boolean }) => items.push({ destructive: false, ...item });

  for (const [col, w] of Object.entries(want.columns)) {
    const h = have.columns[col];
    const object = `${table}.${col}`;
    if (!h) {
      const generated = w.generated ? ` GENERATED ALWAYS AS (${q(w.generated)}) STORED` : '';
      const def = w.default ? ` DEFAULT ${q(w.default)}` : '';
      push({
        object,
        kind: 'column',
        change: 'missing',
        severity: 'blocking',
        expected: w,
        fix: [`ALTER TABLE ${qualified} ADD COLUMN ${col} ${w.type}${generated}${def}${w.nullable ? '' : ' NOT NULL'}`],
      });
      continue;
    }
    if (w.type !== h.type) {
      push({
        object,
        kind: 'column',
        change: 'changed',
        severity: 'blocking',
        expected: w.type,
        actual: h.type,
        fix: [`ALTER TABLE ${qualified} ALTER COLUMN ${col} TYPE ${w.type} USING ${col}::${w.type}`],
        destructive: true,
      });
    }
    if (w.nullable !== h.nullable) {
      push({
        object: `${object} (nullability)`,
        kind: 'column',
        change: 'changed',
        severity: w.nullable ? 'blocking' : 'warning',
        expected: w.nullable ? 'NULL' : 'NOT NULL',
        actual: h.nullable ? 'NULL' : 'NOT NULL',
        fix: [`ALTER TABLE ${qualified} ALTER COLUMN ${col} ${w.nullable ? 'DROP' : 'SET'} NOT NULL`],
      });
    }
    if (w.default !== h.default) {
      push({
        object: `${object} (default)`,
        kind: 'column',
        change: 'changed',
        severity: 'warning',
        expected: w.default,
        actual: h.default,
        fix: [
          w.default === null
            ? `ALTER TABLE ${qualified} ALTER COLUMN ${col} DROP DEFAULT`
            : `ALTER TABLE ${qualified} ALTER COLUMN ${col} SET DEFAULT ${q(w.default)}`,
        ],
      });
    }
    if (w.generated !== h.generated) {
      push({
        object: `${object} (generated)`,
        kind: 'column',
        change: 'changed',
        severity: 'warning',
        expected: w.generated,
        actual: h.generated,
        fix: [],
      });
    }
  }
  for (const col of Object.keys(have.columns)) {
    if (want.columns[col]) continue;
    const nullable = have.columns[col]?.nullable;
    // An extra NOT NULL column with no default makes every insert from the code fail.
    const blocks = nullable === false && !have.columns[col]?.default;
    push({
      object: `${table}.${col}`,
      kind: 'column',
      change: 'unexpected',
      severity: blocks ? 'blocking' : 'warning',
      actual: have.columns[col],
      fix: [`ALTER TABLE ${qualified} DROP COLUMN ${col}`],
      destructive: true,
    });
  }

  for (const [name, w] of Object.entries(want.constraints)) {
    const h = have.constraints[name];
    const add = `ALTER TABLE ${qualified} ADD CONSTRAINT ${name} ${q(w.definition)}`;
    if (!h)
      push({
        object: `${table}.${name}`,
        kind: 'constraint',
        change: 'missing',
        severity: w.kind === 'check' ? 'error' : 'blocking',
        expected: w.definition,
        fix: [add],
      });
    else if (!same(w, h)) {
      push({
        object: `${table}.${name}`,
        kind: 'constraint',
        change: 'changed',
        severity: 'blocking',
        expected: w.definition,
        actual: h.definition,
        fix: [`ALTER TABLE ${qualified} DROP CONSTRAINT ${name}`, add],
      });
    }
  }
  for (const [name, h] of Object.entries(have.constraints)) {
    if (want.constraints[name]) continue;
    // An extra CHECK or foreign key can reject the code's writes.
    push({
      object: `${table}.${name}`,
      kind: 'constraint',
      change: 'unexpected',
      severity: 'blocking',
      actual: h.definition,
      fix: [`ALTER TABLE ${qualified} DROP CONSTRAINT ${name}`],
    });
  }

  const indexOwnedByConstraint = (name: string) => Boolean(want.constraints[name] || have.constraints[name]);
  for (const [name, def] of Object.entries(want.indexes)) {
    if (indexOwnedByConstraint(name)) continue; // compared as a constraint
    const h = have.indexes[name];
    if (h === def) continue;
    const schemaOf = qualified.split('.')[0];
    push({
      object: `${table}.${name}`,
      kind: 'index',
      change: h === undefined ? 'missing' : 'changed',
      severity: 'warning',
      expected: def,
      actual: h,
      fix: [...(h === undefined ? [] : [`DROP INDEX ${schemaOf}.${name}`]), q(def)],
    });
  }
  for (const [name, def] of Object.entries(have.indexes)) {
    if (want.indexes[name] || indexOwnedByConstraint(name)) continue;
    push({
      object: `${table}.${name}`,
      kind: 'index',
      change: 'unexpected',
      severity: 'info',
      actual: def,
      fix: [`DROP INDEX ${qualified.split('.')[0]}.${name}`],
    });
  }

  if (want.rowSecurity && !have.rowSecurity) {
    push({
      object: table,
      kind: 'row security',
      change: 'missing',
      severity: 'error',
      fix: [`ALTER TABLE ${qualified} ENABLE ROW LEVEL SECURITY`],
    });
  }
  for (const [name, w] of Object.entries(want.policies)) {
    const h = have.policies[name];
    if (same(w, h)) continue;
    const create = `CREATE POLICY ${name} ON ${qualified} FOR ${w.command} TO ${w.roles}${w.using ? ` USING (${q(w.using)})` : ''}${w.check ? ` WITH CHECK (${q(w.check)})` : ''}`;
    push({
      object: `${table}.${name}`,
      kind: 'policy',
      change: h ? 'changed' : 'missing',
      severity: 'error',
      expected: w,
      actual: h,
      fix: [...(h ? [`DROP POLICY ${name} ON ${qualified}`] : []), create],
    });
  }
  for (const [name, h] of Object.entries(have.policies)) {
    if (!want.policies[name])
      push({
        object: `${table}.${name}`,
        kind: 'policy',
        change: 'unexpected',
        severity: 'warning',
        actual: h,
        fix: [`DROP POLICY ${name} ON ${qualified}`],
      });
  }

  for (const [name, def] of Object.entries(want.triggers)) {
    const h = have.triggers[name];
    if (h === def) continue;
    // A missing change-capture trigger means writes stop replicating.
    push({
      object: `${table}.${name}`,
      kind: 'trigger',
      change: h ? 'changed' : 'missing',
      severity: 'blocking',
      expected: def,
      actual: h,
      fix: [...(h ? [`DROP TRIGGER ${name} ON ${qualified}`] : []), q(def)],
    });
  }
  for (const [name, def] of Object.entries(have.triggers)) {
    if (!want.triggers[name])
      push({
        object: `${table}.${name}`,
        kind: 'trigger',
        change: 'unexpected',
        severity: 'warning',
        actual: def,
        fix: [`DROP TRIGGER ${name} ON ${qualified}`],
      });
  }
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
