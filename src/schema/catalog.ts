import type { Queryable } from '../providers/index.js';

/** What a live schema holds, in a form that compares equal when the definitions are equivalent. */
export interface Catalog {
  tables: Record<string, TableCatalog>;
  functions: Record<string, string>;
  extensions: string[];
}

export interface TableCatalog {
  columns: Record<string, { type: string; nullable: boolean; default: string | null; generated: string | null }>;
  constraints: Record<string, { kind: string; definition: string }>;
  indexes: Record<string, string>;
  policies: Record<string, { command: string; roles: string; using: string | null; check: string | null }>;
  triggers: Record<string, string>;
  rowSecurity: boolean;
}

const CONSTRAINT_KIND: Record<string, string> = {
  c: 'check',
  f: 'foreign key',
  p: 'primary key',
  u: 'unique',
  x: 'exclusion',
  t: 'trigger',
};

/**
 * Read a schema's tables, columns (type, nullability, default), constraints
 * (with CHECK expressions), indexes, RLS policies, triggers and functions from
 * the system catalogs. Postgres prints every definition in its own canonical
 * form (pg_get_constraintdef, pg_get_indexdef, …), so equivalent definitions
 * compare equal; the schema name is replaced by `{{schema}}` so two schemas
 * can be compared.
 */
export async function readCatalog(db: Queryable, schema: string): Promise<Catalog> {
  // Only qualified names: a quoted 'agentmem.tenant_id' setting name must stay as it is.
  const qualified = new RegExp(`(?<![\\w'"])${schema}\\.`, 'g');
  const neutral = (text: string | null): string | null => (text === null ? null : text.replace(qualified, '{{schema}}.'));
  const tables: Record<string, TableCatalog> = {};
  const table = (name: string): TableCatalog => {
    tables[name] ??= { columns: {}, constraints: {}, indexes: {}, policies: {}, triggers: {}, rowSecurity: false };
    return tables[name];
  };

  const { rows: rels } = await db.query<{ name: string; rls: boolean }>(
    `SELECT c.relname AS name, c.relrowsecurity AS rls FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') ORDER BY 1`,
    [schema],
  );
  for (const rel of rels) table(rel.name).rowSecurity = rel.rls;

  const { rows: columns } = await db.query<{
    tbl: string;
    col: string;
    type: string;
    notnull: boolean;
    def: string | null;
    generated: string;
  }>(
    `SELECT c.relname AS tbl, a.attname AS col, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS notnull,
            pg_get_expr(d.adbin, d.adrelid) AS def, a.attgenerated::text AS generated
       FROM pg_attribute a
       JOIN pg_class c ON c.oid = a.attrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY 1, a.attnum`,
    [schema],
  );
  for (const c of columns) {
    const generated = c.generated === 's';
    table(c.tbl).columns[c.col] = {
      type: c.type,
      nullable: !c.notnull,
      default: generated ? null : neutral(c.def),
      generated: generated ? neutral(c.def) : null,
    };
  }

  const { rows: constraints } = await db.query<{ tbl: string; name: string; kind: string; def: string }>(
    `SELECT c.relname AS tbl, k.conname AS name, k.contype::text AS kind, pg_get_constraintdef(k.oid, true) AS def
       FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 ORDER BY 1, 2`,
    [schema],
  );
  for (const k of constraints)
    table(k.tbl).constraints[k.name] = { kind: CONSTRAINT_KIND[k.kind] ?? k.kind, definition: neutral(k.def) ?? '' };

  const { rows: indexes } = await db.query<{ tbl: string; name: string; def: string }>(
    'SELECT tablename AS tbl, indexname AS name, indexdef AS def FROM pg_indexes WHERE schemaname = $1 ORDER BY 1, 2',
    [schema],
  );
  for (const i of indexes) table(i.tbl).indexes[i.name] = neutral(i.def) ?? '';

  const { rows: policies } = await db.query<{
    tbl: string;
    name: string;
    cmd: string;
    roles: string[] | string;
    qual: string | null;
    with_check: string | null;
  }>('SELECT tablename AS tbl, policyname AS name, cmd, roles, qual, with_check FROM pg_policies WHERE schemaname = $1 ORDER BY 1, 2', [
    schema,
  ]);
  for (const p of policies) {
    const roles = Array.isArray(p.roles) ? p.roles.join(',') : String(p.roles).replace(/^\{|\}$/g, '');
    table(p.tbl).policies[p.name] = { command: p.cmd, roles, using: neutral(p.qual), check: neutral(p.with_check) };
  }

  const { rows: triggers } = await db.query<{ tbl: string; name: string; def: string }>(
    `SELECT c.relname AS tbl, t.tgname AS name, pg_get_triggerdef(t.oid) AS def
       FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND NOT t.tgisinternal ORDER BY 1, 2`,
    [schema],
  );
  for (const t of triggers) table(t.tbl).triggers[t.name] = neutral(t.def) ?? '';

  const { rows: functions } = await db.query<{ name: string; def: string }>(
    `SELECT p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')' AS name, pg_get_functiondef(p.oid) AS def
       FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = $1 ORDER BY 1`,
    [schema],
  );
  const fns: Record<string, string> = {};
  for (const f of functions) fns[f.name] = neutral(f.def) ?? '';

  const { rows: extensions } = await db.query<{ name: string }>('SELECT extname AS name FROM pg_extension ORDER BY 1');
  return { tables, functions: fns, extensions: extensions.map((e) => e.name) };
}
