import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/index.js';
import { Migrator, PgProvider } from '../../src/ops/index.js';
import { runCli } from '../harness/cli.js';
import { PgBouncer } from '../harness/pgbouncer.js';
import { createAppRole } from '../harness/postgres.js';
import { providerConfig } from '../harness/providers.js';
import { routedStore, useCluster } from '../harness/router-cluster.js';

/**
 * agentmem through a real PgBouncer in transaction mode with its default
 * settings — what most users paste from Neon or Supabase — as a non-owner
 * application role, so row-level security is enforced by the database: any
 * tenant or timeout left on a session would surface as another client's
 * tenant, a policy violation, or an "unsupported startup parameter".
 */
const cluster = useCluster(2, { migrate: true });
let bouncer: PgBouncer;
const cleanups: (() => Promise<unknown>)[] = [];
beforeAll(async () => {
  for (const server of cluster.servers) {
    createAppRole(server);
  }
  bouncer = await PgBouncer.start(cluster.server('p1'), ['postgres', 'agentmem_app']);
});
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  await bouncer?.stop();
});

describe('through PgBouncer (transaction pooling, default settings)', () => {
  it('three tenants at once, as a non-owner role: every call works and each tenant sees only its own rows', async () => {
    const s = await routedStore(cluster, {
      urls: [bouncer.url({ user: 'agentmem_app' }), cluster.server('p2').url({ user: 'agentmem_app' })],
      directUrls: [cluster.server('p1').url(), cluster.server('p2').url()],
    });
    cleanups.push(() => s.close());
    const tenants = ['acme', 'globex', 'initech'];
    await Promise.all(
      tenants.map(async (tenant) => {
        const m = s.memory.forTenant(tenant);
        // Several callers per tenant, interleaved with the other tenants on the pooler's few server connections.
        await Promise.all(
          Array.from({ length: 4 }, async (_, w) => {
            const session = await m.sessions.create({ agentId: `${tenant}-${w}` });
            for (let i = 0; i < 10; i++) {
              await m.sessions.addMessage(session.id, { role: 'user', content: `${tenant} ${w} ${i}` });
              await m.memories.remember({ type: 'decision', content: { tenant, w, i } });
              await m.settings.set('agent', `${w}-${i}`, { tenant });
            }
            const messages = await m.sessions.getMessages(session.id);
            expect(messages.map((x) => x.seq)).toEqual(Array.from({ length: 10 }, (_, i) => i));
          }),
        );
      }),
    );
    for (const tenant of tenants) {
      const m = s.memory.forTenant(tenant);
      const sessions = await m.sessions.list({ limit: 100 });
      expect(sessions).toHaveLength(4);
      expect(sessions.every((x) => x.agentId?.startsWith(tenant))).toBe(true);
      const decisions = await m.memories.recall({ types: ['decision'], limit: 100 });
      expect(decisions).toHaveLength(40);
      expect(decisions.every((d) => (d.content as { tenant: string }).tenant === tenant)).toBe(true);
      expect((await m.settings.list('agent')).every((x) => (x.value as { tenant: string }).tenant === tenant)).toBe(true);
    }
    // Every write went through the pooler to p1.
    expect(cluster.server('p1').psql("SELECT count(DISTINCT tenant_id) FROM agentmem.memories WHERE memory_type = 'decision'").trim()).toBe(
      '3',
    );
  });

  it("a transaction's settings arrive exactly as given, whatever they contain, and end with it", async () => {
    const pooled = new PgProvider(providerConfig(cluster.server('p1'), { url: bouncer.url(), pooler: 'transaction' }));
    cleanups.push(() => pooled.close());
    const hostile = "o'neil $v$ $vv$'; SELECT pg_terminate_backend(pg_backend_pid()); -- \\ ünï";
    const seen = await pooled.transaction(
      async (tx) =>
        (
          await tx.query<{ a: string; t: string }>(
            "SELECT current_setting('agentmem.actor') AS a, current_setting('statement_timeout') AS t",
          )
        ).rows[0],
      { settings: { 'agentmem.actor': hostile } },
    );
    expect(seen?.a).toBe(hostile);
    expect(seen?.t).not.toBe('0');
    // Nothing outlives the transaction: the next one (any server connection behind the pooler) has no actor.
    const after = await pooled.transaction(
      async (tx) => (await tx.query<{ a: string | null }>("SELECT current_setting('agentmem.actor', true) AS a")).rows[0],
    );
    expect(after?.a ?? '').toBe('');
  });

  it('a pooler nobody named is found out: single statements through it leave nothing on its server connections', async () => {
    // Neither configured as a pooler nor recognisable from its URL.
    const unflagged = new PgProvider(providerConfig(cluster.server('p1'), { url: bouncer.url() }));
    cleanups.push(() => unflagged.close());
    expect(unflagged.pooled).toBe(false);
    const actorIn = (provider: PgProvider, settings: Record<string, string>, single: boolean) =>
      provider
        .transaction((tx) => tx.query<{ a: string | null }>("SELECT current_setting('agentmem.actor', true) AS a"), { settings, single })
        .then((r) => r.rows[0]?.a ?? '');
    for (let i = 0; i < 5; i++) expect(await actorIn(unflagged, { 'agentmem.actor': 'left-behind' }, true)).toBe('left-behind');
    // A statement marked `prepare` goes unnamed through it: a name prepared on a server connection
    // by one client would be there for the next client the pooler hands it to ("already exists"),
    // or missing on the next server connection ("does not exist").
    const other = new PgProvider(providerConfig(cluster.server('p1'), { url: bouncer.url() }));
    cleanups.push(() => other.close());
    const prepared = (provider: PgProvider, i: number) =>
      provider
        .transaction((tx) => tx.query<{ n: number }>('SELECT $1::int + 1 AS n', [i], { prepare: true }), {
          single: true,
          settings: { 'agentmem.tenant_id': 'acme' },
        })
        .then((r) => r.rows[0]?.n);
    for (let i = 0; i < 5; i++) {
      expect(await prepared(unflagged, i)).toBe(i + 1);
      expect(await prepared(other, i)).toBe(i + 1);
    }
    // Whichever server connection the pooler hands out next, no actor and no timeout of those calls is on it.
    const pooled = new PgProvider(providerConfig(cluster.server('p1'), { url: bouncer.url(), pooler: 'transaction' }));
    cleanups.push(() => pooled.close());
    for (let i = 0; i < 5; i++) {
      expect(await actorIn(pooled, {}, true)).toBe('');
      const { rows } = await pooled.query<{ t: string }>("SELECT current_setting('statement_timeout') AS t");
      expect(rows[0]?.t).toBe('0');
    }
  });

  it('migrations need a session: through the pooler without directUrl they refuse and say so', async () => {
    const pooled = new PgProvider(providerConfig(cluster.server('p1'), { url: bouncer.url(), pooler: 'transaction' }));
    cleanups.push(() => pooled.close());
    await expect(new Migrator(pooled, { schema: 'agentmem' }).up()).rejects.toBeInstanceOf(ConfigError);
    // Recognised from the URL as well (Supabase's pooler port, ?pgbouncer=true).
    expect(new PgProvider(providerConfig(cluster.server('p1'), { url: `${bouncer.url()}?pgbouncer=true` })).pooled).toBe(true);
    const cwd = mkdtempSync(join(tmpdir(), 'agentmem-pooler-'));
    writeFileSync(
      join(cwd, 'agentmem.config.json'),
      JSON.stringify({ providers: [{ name: 'p1', url: bouncer.url(), pooler: 'transaction' }] }),
    );
    const refused = await runCli(['migrate', 'up'], { cwd });
    expect(refused.code).toBe(1);
    expect(refused.stdout + refused.stderr).toMatch(/transaction pooler.*directUrl/);
    writeFileSync(
      join(cwd, 'agentmem.config.json'),
      JSON.stringify({ providers: [{ name: 'p1', url: bouncer.url(), pooler: 'transaction', directUrl: cluster.server('p1').url() }] }),
    );
    const direct = await runCli(['migrate', 'up'], { cwd });
    expect(direct.code).toBe(0);
  });

  it('failover away from the pooled provider and back, with replication between a pooled and a direct provider', async () => {
    const s = await routedStore(cluster, {
      urls: [bouncer.url({ user: 'agentmem_app' }), cluster.server('p2').url({ user: 'agentmem_app' })],
      directUrls: [cluster.server('p1').url(), cluster.server('p2').url()],
      replication: { enabled: true, intervalMs: 200 },
      tenant: 'moving',
    });
    cleanups.push(() => s.close());
    const before = await s.memory.memories.remember({ type: 'log', content: 'via the pooler' });
    await cluster.server('p1').kill();
    const during = await s.memory.memories.remember({ type: 'log', content: 'on p2 while p1 is down' });
    expect(s.memory.router?.currentWriter).toBe('p2');
    await cluster.server('p1').start();
    // Replication carries p2's write back to p1 (through its direct URL), then writes fail back to the pooled p1
    // (once PgBouncer lets logins through again: it waits server_login_retry, 15 s by default, after a failed one).
    const probe = new PgProvider(providerConfig(cluster.server('p1'), { url: bouncer.url({ user: 'agentmem_app' }) }));
    cleanups.push(() => probe.close());
    const throughPooler = () =>
      probe.query('SELECT 1').then(
        () => true,
        () => false,
      );
    const p1Ready = () => s.memory.router?.state().find((p) => p.name === 'p1');
    for (let i = 0; i < 400; i++) {
      const held = cluster.server('p1').psql(`SELECT count(*) FROM agentmem.memories WHERE id IN ('${before}', '${during}')`).trim();
      if (held === '2' && (await throughPooler()) && p1Ready()?.breaker === 'closed' && !p1Ready()?.fenced) break;
      await sleep(100);
    }
    const after = await s.memory.memories.remember({ type: 'log', content: 'via the pooler again' });
    expect(s.memory.router?.currentWriter).toBe('p1');
    await sleep(600);
    expect(cluster.server('p2').psql(`SELECT count(*) FROM agentmem.memories WHERE id = '${after}'`).trim()).toBe('1');
  });
});
