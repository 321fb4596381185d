import type { Catalog, TableCatalog } from './catalog.js';

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

type Item = Omit<DriftItem, 'object' | 'kind' | 'destructive'> & { object?: string; destructive?: boolean };

/** How one table's table → name → definition part is compared: what a missing, changed or extra object means and how to fix it. */
interface Rule<T> {
  kind: DriftItem['kind'];
  entries: (t: TableCatalog) => Record<string, T>;
  /** Names compared by another rule (an index that belongs to a constraint). */
  skip?: (name: string, want: TableCatalog, have: TableCatalog) => boolean;
  equal?: (want: T, have: T) => boolean;
  missing: (name: string, want: T, on: Table) => Item | undefined;
  changed: (name: string, want: T, have: T, on: Table) => Item[];
  unexpected: (name: string, have: T, on: Table) => Item;
}

/** The table a rule looks at: its name, schema-qualified name, and `q` to put the schema into expected SQL. */
interface Table {
  name: string;
  qualified: string;
  schema: string;
  q: (text: string) => string;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
const fixedNothing = (severity: DriftSeverity, change: DriftItem['change']): Item => ({ change, severity, fix: [] });

type Column = TableCatalog['columns'][string];
type Constraint = TableCatalog['constraints'][string];
type Policy = TableCatalog['policies'][string];

const columns: Rule<Column> = {
  kind: 'column',
  entries: (t) => t.columns,
  missing: (col, w, { qualified, q }) => {
    const generated = w.generated ? ` GENERATED ALWAYS AS (${q(w.generated)}) STORED` : '';
    const def = w.default ? ` DEFAULT ${q(w.default)}` : '';
    return {
      change: 'missing',
      severity: 'blocking',
      expected: w,
      fix: [`ALTER TABLE ${qualified} ADD COLUMN ${col} ${w.type}${generated}${def}${w.nullable ? '' : ' NOT NULL'}`],
    };
  },
  changed: (col, w, h, { name, qualified, q }) => {
    const object = `${name}.${col}`;
    const items: Item[] = [];
    if (w.type !== h.type) {
      items.push({
        change: 'changed',
        severity: 'blocking',
        expected: w.type,
        actual: h.type,
        fix: [`ALTER TABLE ${qualified} ALTER COLUMN ${col} TYPE ${w.type} USING ${col}::${w.type}`],
        destructive: true,
      });
    }
    if (w.nullable !== h.nullable) {
      items.push({
        object: `${object} (nullability)`,
        change: 'changed',
        severity: w.nullable ? 'blocking' : 'warning',
        expected: w.nullable ? 'NULL' : 'NOT NULL',
        actual: h.nullable ? 'NULL' : 'NOT NULL',
        fix: [`ALTER TABLE ${qualified} ALTER COLUMN ${col} ${w.nullable ? 'DROP' : 'SET'} NOT NULL`],
      });
    }
    if (w.default !== h.default) {
      items.push({
        object: `${object} (default)`,
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
      items.push({
        object: `${object} (generated)`,
        change: 'changed',
        severity: 'warning',
        expected: w.generated,
        actual: h.generated,
        fix: [],
      });
    }
    return items;
  },
  // An extra NOT NULL column with no default makes every insert from the code fail.
  unexpected: (col, h, { qualified }) => ({
    change: 'unexpected',
    severity: h.nullable === false && !h.default ? 'blocking' : 'warning',
    actual: h,
    fix: [`ALTER TABLE ${qualified} DROP COLUMN ${col}`],
    destructive: true,
  }),
};

const constraints: Rule<Constraint> = {
  kind: 'constraint',
  entries: (t) => t.constraints,
  missing: (name, w, { qualified, q }) => ({
    change: 'missing',
    severity: w.kind === 'check' ? 'error' : 'blocking',
    expected: w.definition,
    fix: [`ALTER TABLE ${qualified} ADD CONSTRAINT ${name} ${q(w.definition)}`],
  }),
  changed: (name, w, h, { qualified, q }) =>
    same(w, h)
      ? []
      : [
          {
            change: 'changed',
            severity: 'blocking',
            expected: w.definition,
            actual: h.definition,
            fix: [`ALTER TABLE ${qualified} DROP CONSTRAINT ${name}`, `ALTER TABLE ${qualified} ADD CONSTRAINT ${name} ${q(w.definition)}`],
          },
        ],
  // An extra CHECK or foreign key can reject the code's writes.
  unexpected: (name, h, { qualified }) => ({
    change: 'unexpected',
    severity: 'blocking',
    actual: h.definition,
    fix: [`ALTER TABLE ${qualified} DROP CONSTRAINT ${name}`],
  }),
};

const indexes: Rule<string> = {
  kind: 'index',
  entries: (t) => t.indexes,
  // An index that backs a constraint is compared as the constraint.
  skip: (name, want, have) => Boolean(want.constraints[name] || have.constraints[name]),
  missing: (_name, def, { q }) => ({ change: 'missing', severity: 'warning', expected: def, fix: [q(def)] }),
  changed: (name, def, h, { schema, q }) =>
    h === def ? [] : [{ change: 'changed', severity: 'warning', expected: def, actual: h, fix: [`DROP INDEX ${schema}.${name}`, q(def)] }],
  unexpected: (name, def, { schema }) => ({ change: 'unexpected', severity: 'info', actual: def, fix: [`DROP INDEX ${schema}.${name}`] }),
};

const createPolicy = (name: string, w: Policy, { qualified, q }: Table) =>
  `CREATE POLICY ${name} ON ${qualified} FOR ${w.command} TO ${w.roles}${w.using ? ` USING (${q(w.using)})` : ''}${w.check ? ` WITH CHECK (${q(w.check)})` : ''}`;

const policies: Rule<Policy> = {
  kind: 'policy',
  entries: (t) => t.policies,
  missing: (name, w, on) => ({ change: 'missing', severity: 'error', expected: w, fix: [createPolicy(name, w, on)] }),
  changed: (name, w, h, on) =>
    same(w, h)
      ? []
      : [
          {
            change: 'changed',
            severity: 'error',
            expected: w,
            actual: h,
            fix: [`DROP POLICY ${name} ON ${on.qualified}`, createPolicy(name, w, on)],
          },
        ],
  unexpected: (name, h, { qualified }) => ({
    change: 'unexpected',
    severity: 'warning',
    actual: h,
    fix: [`DROP POLICY ${name} ON ${qualified}`],
  }),
};

// A missing change-capture trigger means writes stop replicating.
const triggers: Rule<string> = {
  kind: 'trigger',
  entries: (t) => t.triggers,
  missing: (_name, def, { q }) => ({ change: 'missing', severity: 'blocking', expected: def, fix: [q(def)] }),
  changed: (name, def, h, { qualified, q }) =>
    h === def
      ? []
      : [{ change: 'changed', severity: 'blocking', expected: def, actual: h, fix: [`DROP TRIGGER ${name} ON ${qualified}`, q(def)] }],
  unexpected: (name, def, { qualified }) => ({
    change: 'unexpected',
    severity: 'warning',
    actual: def,
    fix: [`DROP TRIGGER ${name} ON ${qualified}`],
  }),
};

/** Apply one rule to one table: missing and changed objects in the expected order, then unexpected ones. */
function compareBy<T>(
  rule: Rule<T>,
  want: TableCatalog,
  have: TableCatalog,
  on: Table,
  push: (object: string, kind: DriftItem['kind'], item: Item) => void,
): void {
  const wanted = rule.entries(want);
  const held = rule.entries(have);
  for (const [name, w] of Object.entries(wanted)) {
    if (rule.skip?.(name, want, have)) continue;
    const h = held[name];
    const object = `${on.name}.${name}`;
    if (h === undefined) {
      const item = rule.missing(name, w, on);
      if (item) push(object, rule.kind, item);
    } else for (const item of rule.changed(name, w, h, on)) push(object, rule.kind, item);
  }
  for (const [name, h] of Object.entries(held)) {
    if (wanted[name] !== undefined || rule.skip?.(name, want, have)) continue;
    push(`${on.name}.${name}`, rule.kind, rule.unexpected(name, h, on));
  }
}

function compareTable(name: string, want: TableCatalog, have: TableCatalog, schema: string, items: DriftItem[]): void {
  const on: Table = { name, qualified: `${schema}.${name}`, schema, q: (text) => text.split('{{schema}}.').join(`${schema}.`) };
  const push = (object: string, kind: DriftItem['kind'], item: Item) =>
    items.push({ object, kind, destructive: false, ...item, ...(item.object ? { object: item.object } : {}) } as DriftItem);
  compareBy(columns, want, have, on, push);
  compareBy(constraints, want, have, on, push);
  compareBy(indexes, want, have, on, push);
  if (want.rowSecurity && !have.rowSecurity) {
    push(name, 'row security', { ...fixedNothing('error', 'missing'), fix: [`ALTER TABLE ${on.qualified} ENABLE ROW LEVEL SECURITY`] });
  }
  compareBy(policies, want, have, on, push);
  compareBy(triggers, want, have, on, push);
}

/** Every difference between the schema the code expects and a live one, each with its severity and fix. */
export function compareCatalogs(expected: Catalog, live: Catalog, schema: string): DriftItem[] {
  const items: DriftItem[] = [];
  const q = (text: string) => text.split('{{schema}}.').join(`${schema}.`);
  for (const [name, want] of Object.entries(expected.tables)) {
    const have = live.tables[name];
    if (!have) {
      items.push({ object: name, kind: 'table', change: 'missing', severity: 'blocking', fix: [], destructive: false });
      continue;
    }
    compareTable(name, want, have, schema, items);
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
