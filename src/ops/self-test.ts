import { randomUUID } from 'node:crypto';
import { listBackups } from '../backup/index.js';
import type { AgentmemConfig, ResolvedProvider } from '../config/index.js';
import { hint } from '../core/commands.js';
import { AccessIncompleteError, AgentmemError } from '../errors/index.js';
import { logger } from '../observability/logger.js';
import {
  DirectExecutor,
  isLocalHost,
  PgProvider,
  type Provider,
  type ProviderSet,
  sslMode,
  urlHost,
  withTlsDefault,
} from '../providers/index.js';
import { syncStatus } from '../replication/index.js';
import { createMemory, Runtime } from '../runtime/index.js';
import { diffSchema, schemaOptions, tenantAccess } from '../schema/index.js';
import { backupFreshness, drillOverRto, openBackupStore } from './backup.js';

export type CheckStatus = 'PASS' | 'FAIL' | 'WARN';

export interface CheckResult {
  /** Stable name, e.g. `drift:p2`, so scripts and tests can pick one check. */
  check: string;
  status: CheckStatus;
  detail: string;
  provider?: string;
  ms: number;
}

export interface VerifyResult {
  checkedAt: string;
  ok: boolean;
  summary: Record<CheckStatus, number>;
  checks: CheckResult[];
}

/** The tenant verify writes under, so it never touches an agent's data. */
export const VERIFY_TENANT = 'agentmem-verify';

/**
 * A deployment self-test. Every check runs even when an earlier one fails,
 * and says what it saw. The failover check is real: it forces the primary's
 * breaker open, routes a write, and restores it.
 */
export async function verifyDeployment(config: AgentmemConfig, providers: ProviderSet): Promise<VerifyResult> {
  const checks: CheckResult[] = [];
  const runtime = Runtime.over(config, providers);
  const run = async (check: string, provider: string | undefined, fn: () => Promise<[CheckStatus, string]>) => {
    const started = performance.now();
    let status: CheckStatus;
    let detail: string;
    try {
      [status, detail] = await fn();
    } catch (error) {
      status = 'FAIL';
      detail = error instanceof AgentmemError ? `${error.code}: ${error.message}` : (error as Error).message;
    }
    checks.push({ check, status, detail, ...(provider ? { provider } : {}), ms: Math.round((performance.now() - started) * 10) / 10 });
  };

  await run('config', undefined, async () => ['PASS', `valid (${config.sources.join(', ')}); ${providers.names.length} provider(s)`]);
  const reachable: Provider[] = [];
  for (const name of providers.names) {
    const resolved = providers.configs.find((c) => c.name === name) as ResolvedProvider;
    await run(`reachable:${name}`, name, async () => {
      const provider = await providers.get(name);
      const started = performance.now();
      const { rows } = await provider.query<{ v: string }>("SELECT current_setting('server_version') AS v");
      reachable.push(provider);
      return ['PASS', `PostgreSQL ${rows[0]?.v} in ${Math.round((performance.now() - started) * 10) / 10} ms`];
    });
    await run(`tls:${name}`, name, async () => tlsConnectionCheck(resolved, await providers.get(name)));
  }
  for (const provider of reachable) {
    const name = provider.name;
    await run(`schema-version:${name}`, name, async () => {
      const status = await runtime.migrator(provider).status();
      if (status.pending.length)
        return ['FAIL', `at version ${status.current ?? 'none'}, ${status.pending.length} migration(s) pending: run ${hint('migrateUp')}`];
      return ['PASS', `version ${status.current} (latest)`];
    });
    await run(`drift:${name}`, name, async () => {
      const drift = await diffSchema(provider, schemaOptions(config));
      if (!drift.items.length) return ['PASS', 'schema matches the code'];
      const summary = drift.items.map((i) => `${i.severity} ${i.kind} ${i.object} ${i.change}`).join('; ');
      return [
        'FAIL',
        `${drift.items.length} difference(s)${drift.blocking ? ' (writes blocked)' : ''}: ${summary} — run ${hint('schemaDiff', `--provider ${name}`)}`,
      ];
    });
    await run(`tenant-isolation:${name}`, name, () => isolationCheck(config, provider));
    await run(`replication-access:${name}`, name, async () => {
      const access = await tenantAccess(provider.direct(), config.schema);
      if (!access.seesAllTenants) throw new AccessIncompleteError(name, access.role, { reason: access.reason });
      return ['PASS', `replication, verify and health connect as "${access.role}" (${access.reason}): every tenant is visible`];
    });
    await run(`round-trip:${name}`, name, () => roundTrip(config, provider));
  }
  await run('atoms', undefined, () => atomsCheck(config, reachable[0]));
  await run('replication-lag', undefined, async () => {
    if (providers.names.length < 2) return ['PASS', 'one provider: nothing to replicate'];
    if (reachable.length < 2) return ['FAIL', 'fewer than two providers reachable: replication cannot run'];
    const status = await syncStatus(reachable, config.schema);
    const worst = status.reduce((a, b) => (b.lagSeconds > a.lagSeconds ? b : a));
    const rows = status.reduce((n, s) => n + s.lagRows, 0);
    const detail = `max lag ${worst.lagSeconds} s (${worst.source} → ${worst.target} ${worst.table}), ${rows} row(s) waiting`;
    return [worst.lagSeconds > config.monitor.replicationLagSeconds ? 'WARN' : 'PASS', detail];
  });
  await run('failover', undefined, () => failoverCheck(config));
  await run('backup', undefined, () => backupCheck(config));

  const summary = { PASS: 0, FAIL: 0, WARN: 0 };
  for (const c of checks) summary[c.status]++;
  return { checkedAt: new Date().toISOString(), ok: summary.FAIL === 0, summary, checks };
}

/**
 * What the URL allows, before connecting: a remote provider must use
 * verify-full (the default agentmem applies when a URL names no sslmode);
 * loopback and sockets may go without TLS.
 */
export function tlsCheck(provider: ResolvedProvider): [CheckStatus, string] {
  if (provider.kind === 'embedded' || !provider.url) return ['PASS', 'embedded: no network'];
  const host = urlHost(provider.url);
  const mode = sslMode(withTlsDefault(provider.url));
  if (isLocalHost(host)) return ['PASS', `local connection (${host || 'socket'}): TLS not required (sslmode ${mode})`];
  if (mode === 'verify-full') return ['PASS', 'sslmode verify-full: encrypted, certificate and host name checked'];
  return [
    'FAIL',
    `sslmode ${mode} to a remote host: the certificate is not verified (use sslmode=verify-full, with sslrootcert for a private CA)`,
  ];
}

/**
 * TLS as the connection really is: the handshake's protocol and the client's
 * own verification result, not only what the URL asks for. A URL that asks
 * for TLS on loopback is held to its handshake too.
 */
export async function tlsConnectionCheck(resolved: ResolvedProvider, provider: Provider): Promise<[CheckStatus, string]> {
  const policy = tlsCheck(resolved);
  if (!(provider instanceof PgProvider) || !resolved.url) return policy;
  const mode = sslMode(withTlsDefault(resolved.url));
  const local = isLocalHost(urlHost(resolved.url));
  if (local && (mode === 'none' || mode === 'disable')) return policy;
  const tls = await provider.tls();
  if (!tls.encrypted) return [local ? 'WARN' : 'FAIL', `sslmode ${mode}, but the connection is not encrypted`];
  const what = `${tls.protocol} ${tls.cipher}, server certificate ${tls.subject ?? '?'} (valid to ${tls.validTo ?? '?'})`;
  if (!tls.verified) return [local ? 'WARN' : 'FAIL', `${what} not verified: ${tls.verifyError ?? 'no verification'} (sslmode ${mode})`];
  if (policy[0] === 'FAIL') return policy;
  return ['PASS', `${what} verified (sslmode ${mode})`];
}

/**
 * Does the database itself keep tenants apart for the application's role? An
 * owner (without FORCE ROW LEVEL SECURITY), a superuser or a BYPASSRLS role
 * sees every tenant: isolation then rests on agentmem's own queries alone.
 */
async function isolationCheck(config: AgentmemConfig, provider: Provider): Promise<[CheckStatus, string]> {
  if (provider.kind === 'embedded') return ['PASS', 'embedded: one process, no other database users'];
  const access = await tenantAccess(provider, config.schema);
  if (!access.seesAllTenants)
    return ['PASS', `the application connects as "${access.role}", ${access.reason}: the database enforces tenant isolation`];
  return [
    'WARN',
    `the application connects as "${access.role}" (${access.reason}), which bypasses row-level security: tenant isolation rests on agentmem's queries alone; connect as a non-owner role and give replication a directUrl (docs/ops/RUNBOOK.md#roles)`,
  ];
}

async function roundTrip(config: AgentmemConfig, provider: Provider): Promise<[CheckStatus, string]> {
  const memory = await createMemory({ config, tenant: VERIFY_TENANT, executor: new DirectExecutor(provider), workers: false });
  try {
    const id = randomUUID();
    const messages = [
      { role: 'system' as const, content: 'agentmem verify' },
      { role: 'user' as const, content: 'round trip: ünïcödé ✓ 🧠 "quotes" \\ backslash', metadata: { n: 1, nested: { ok: true } } },
      { role: 'assistant' as const, content: 'line one\nline two\ttab — and trailing space ' },
    ];
    await memory.sessions.save({ session: { id, title: 'verify', metadata: { check: 'round-trip' } }, messages });
    const loaded = await memory.sessions.load(id);
    if (!loaded) return ['FAIL', 'saved session not found on reload'];
    const got = loaded.messages.map((m) => JSON.stringify([m.role, m.content, m.metadata ?? {}]));
    const want = messages.map((m) => JSON.stringify([m.role, m.content, m.metadata ?? {}]));
    const same = got.length === want.length && got.every((g, i) => g === want[i]) && loaded.session.title === 'verify';
    const deleted = await memory.sessions.delete(id);
    if (!same) return ['FAIL', `reloaded session differs: ${got.join(' | ')}`];
    if (!deleted || (await memory.sessions.get(id))) return ['FAIL', 'session saved and reloaded, but delete did not take'];
    return ['PASS', `session with ${messages.length} messages saved, reloaded exactly and deleted`];
  } finally {
    await memory.close();
  }
}

/**
 * Counts atoms (a number, never another tenant's content), then proves search
 * end to end with a probe atom of verify's own tenant: upserted, found by a
 * hybrid search for its title, deleted again.
 */
async function atomsCheck(config: AgentmemConfig, provider: Provider | undefined): Promise<[CheckStatus, string]> {
  if (!provider) return ['FAIL', 'no provider reachable'];
  const { rows } = await provider
    .direct()
    .query<{ n: string }>(`SELECT count(*)::text AS n FROM ${config.schema}.knowledge_atoms WHERE deleted_at IS NULL`);
  const count = Number(rows[0]?.n ?? 0);
  const memory = await createMemory({ config, tenant: VERIFY_TENANT, executor: new DirectExecutor(provider), workers: false });
  const probeId = `agentmem-verify:probe-${randomUUID()}`;
  const title = `agentmem verify probe ${randomUUID().slice(0, 8)} bearing lubrication`;
  try {
    await memory.atoms.upsert([{ atomId: probeId, atomType: 'reference', title, content: `${title}: a self-test atom, deleted again.` }]);
    const result = await memory.atoms.search(title, { mode: 'hybrid', limit: 10 });
    const found = result.results.some((hit) => hit.atom.atomId === probeId);
    return found
      ? ['PASS', `${count} atom(s) on ${provider.name}; a hybrid search found verify's probe atom (${result.vectorMethod ?? 'text only'})`]
      : ['FAIL', `${count} atom(s) on ${provider.name}, but a hybrid search for verify's probe atom did not find it`];
  } finally {
    await memory.atoms.delete(probeId).catch(() => false);
    await memory.close();
  }
}

/**
 * A real failover: through the router, with the primary's breaker forced open,
 * a write must land on another provider; then the breaker is restored.
 */
async function failoverCheck(config: AgentmemConfig): Promise<[CheckStatus, string]> {
  if (config.providers.length < 2) return ['WARN', 'one provider configured: there is nothing to fail over to'];
  const memory = await createMemory({
    workers: false,
    config: { ...config, replication: { ...config.replication, enabled: false }, router: { ...config.router, eventLog: false } },
    tenant: VERIFY_TENANT,
  });
  try {
    const router = memory.router;
    if (!router) return ['FAIL', 'no router over the configured providers'];
    const primary = config.providers[0]?.name as string;
    // The router reports the forced failover as warnings; here it is expected, and the check says what happened.
    const level = logger().level;
    logger().level = 'error';
    const restore = router.health(primary).isolate();
    let landed: string | undefined;
    try {
      const id = await memory.memories.remember({ type: 'log', content: { check: 'failover' } });
      landed = memory.storeContext.token.last?.provider;
      await memory.memories.forget(id);
    } finally {
      restore();
      logger().level = level;
    }
    if (!landed || landed === primary) return ['FAIL', `with ${primary}'s breaker open the write went to ${landed ?? 'nowhere'}`];
    return ['PASS', `with ${primary}'s breaker forced open, a write was routed to ${landed}; breaker restored`];
  } finally {
    await memory.close();
  }
}

/**
 * A verified backup younger than config.backup.rpoHours exists: FAIL when
 * backups exist but none is verified and recent, WARN when there are none at all yet.
 */
async function backupCheck(config: AgentmemConfig): Promise<[CheckStatus, string]> {
  const store = openBackupStore(config);
  try {
    const listing = await listBackups(store);
    const freshness = backupFreshness(config, listing);
    if (!listing.backups.length) return ['WARN', `no backups in ${store.location} yet: run ${hint('backupCreate')}`];
    if (freshness.stale)
      return [
        'FAIL',
        `no verified backup in the last ${config.backup.rpoHours} h (newest verified: ${freshness.newestVerifiedAt ?? 'none'}): run ${hint('backupCreate')}`,
      ];
    const drill = freshness.drill
      ? `; last restore drill ${freshness.drill.ok ? 'passed' : 'FAILED'} (RTO ${freshness.drill.rtoSeconds} s)`
      : '';
    if (drillOverRto(config, freshness.drill))
      return [
        'WARN',
        `newest verified backup from ${freshness.newestVerifiedAt}${drill}, above the RTO target of ${config.backup.rtoMinutes} min`,
      ];
    return ['PASS', `newest verified backup from ${freshness.newestVerifiedAt} in ${store.location}${drill}`];
  } finally {
    store.close?.();
  }
}
