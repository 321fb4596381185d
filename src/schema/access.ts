import { ROW_SECURED_TABLES } from '../core/tables.js';
import { AccessIncompleteError } from '../errors/index.js';
import type { Provider } from '../providers/index.js';

export interface TenantAccess {
  /** The role the connection runs as. */
  role: string;
  /** True when no row-level security policy applies to it on any tenant table. */
  seesAllTenants: boolean;
  /** Why: superuser, BYPASSRLS, owner of the tables (without FORCE), or subject to row-level security. */
  reason: string;
}

/**
 * Can this connection see every tenant's rows? Row-level security exempts
 * superusers, BYPASSRLS roles and the tables' owner (unless the table has
 * FORCE ROW LEVEL SECURITY); everyone else sees one tenant at most.
 */
export async function tenantAccess(provider: Provider, schema: string): Promise<TenantAccess> {
  const { rows } = await provider.query<{
    role: string;
    superuser: boolean;
    bypass: boolean;
    table: string;
    rls: boolean | null;
    forced: boolean | null;
    owner: boolean | null;
  }>(
    `SELECT current_user::text AS role, r.rolsuper AS superuser, r.rolbypassrls AS bypass, t.name AS table,
            c.relrowsecurity AS rls, c.relforcerowsecurity AS forced,
            CASE WHEN c.oid IS NULL THEN NULL ELSE pg_has_role(current_user, c.relowner, 'USAGE') END AS owner
       FROM pg_roles r
       CROSS JOIN unnest($2::text[]) AS t(name)
       LEFT JOIN pg_class c ON c.oid = to_regclass(quote_ident($1) || '.' || quote_ident(t.name))
      WHERE r.rolname = current_user`,
    [schema, ROW_SECURED_TABLES],
  );
  const first = rows[0];
  const role = first?.role ?? 'unknown';
  if (first?.superuser) return { role, seesAllTenants: true, reason: 'superuser' };
  if (first?.bypass) return { role, seesAllTenants: true, reason: 'BYPASSRLS' };
  const restricted = rows.filter((r) => r.rls && (r.forced || !r.owner));
  if (!restricted.length) return { role, seesAllTenants: true, reason: 'owner of the tables' };
  const forced = restricted.some((r) => r.forced && r.owner);
  return {
    role,
    seesAllTenants: false,
    reason: forced ? 'owner, but FORCE ROW LEVEL SECURITY applies' : 'subject to row-level security (not the owner, no BYPASSRLS)',
  };
}

const checked = new WeakMap<Provider, { at: number; access: TenantAccess }>();
const RECHECK_MS = 30_000;

/**
 * Refuse to go on with a connection that cannot see every tenant: replication
 * would copy nothing and move its watermark past rows it never read, and a
 * checksum comparison would call invisible rows equal. Checked at most every
 * 30 s per provider.
 */
export async function requireAllTenants(provider: Provider, schema: string): Promise<void> {
  const cached = checked.get(provider);
  let access = cached && Date.now() - cached.at < RECHECK_MS ? cached.access : undefined;
  if (!access) {
    access = await tenantAccess(provider, schema);
    checked.set(provider, { at: Date.now(), access });
  }
  if (!access.seesAllTenants) throw new AccessIncompleteError(provider.name, access.role, { reason: access.reason });
}
