import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AccessIncompleteError, createMemory, loadConfig, OutcomeUnknownError, ProviderUnavailableError } from '../../src/index.js';
import { PgProvider, Replicator, runSync, syncStatus, verifyProviders } from '../../src/ops/index.js';
import { runCli } from '../harness/cli.js';
import { FaultProxy } from '../harness/fault-proxy.js';
import { createAppRole, hasPgvector, type PgServer, startCluster } from '../harness/postgres.js';
import { providerConfig } from '../harness/providers.js';
import { type RoutedStore, routedStore, useCluster } from '../harness/router-cluster.js';
import { waitFor } from '../harness/wait.js';
import { runWorkload } from '../harness/workload-process.js';

/**
 * The promises behind "no acknowledged write lost, no crash", each as a
 * deterministic scenario on three real servers: what sync acknowledgement
 * guarantees, how an unknown outcome is reported, what counts as a provider
 * failure, that close() always settles, a provider moved to a restored server,
 * and replication under the application role row-level security is made for.
 */
const cluster = useCluster(3, { migrate: true });
const cleanups: (() => Promise<void> | void)[] = [];
beforeAll(async () => {
  for (const server of cluster.servers) {
    createAppRole(server);
  }
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
  for (const server of cluster.servers) {
    server.resume();
    if (!server.isRunning()) await server.start();
  }
});

async function store(options: Parameters<typeof routedStore>[1] = {}): Promise<RoutedStore> {
  const s = await routedStore(cluster, options);
  cleanups.push(() => s.close());
  return s;
}

function row(server: string, sql: string): string {
  return cluster.server(server).psql(sql).trim();
}

describe('durability', () => {
  it('sync acknowledgement: a write and what it depends on are on two providers before it returns, whichever providers are up', async () => {
    await cluster.server('p3').kill();
    const s = await store({ replication: { enabled: false, ack: 'sync' } });
    const breaker = (name: string) => s.memory.router?.state().find((p) => p.name === name)?.breaker;
    // The router has seen p3 down: its breaker closing later means p3 is back, not that no probe has failed yet
    // (a probe that failed while p3 was down, counted after it came back, opened it again: CI, under load).
    await waitFor(() => breaker('p3') !== 'closed');
    // p3 is down: the session lands on p1 and p2.
    const kept = await s.memory.sessions.create({ agentId: 'agent' });
    const doomed = await s.memory.sessions.create({ agentId: 'agent' });
    await s.memory.sessions.addMessage(kept.id, { role: 'user', content: 'one' });
    // p2 goes, p3 comes back without the sessions.
    await cluster.server('p2').kill();
    await cluster.server('p3').start();
    await waitFor(() => breaker('p3') === 'closed');
    // Each acknowledged write must now be on p3 too, with the session it needs.
    const two = await s.memory.sessions.addMessage(kept.id, { role: 'assistant', content: 'two' });
    expect(two.seq).toBe(1);
    const ended = await s.memory.sessions.end(kept.id);
    expect(ended.endedAt).not.toBeNull();
    expect(await s.memory.sessions.delete(doomed.id)).toBe(true);
    // p1 is lost for good: p3 has all of it.
    await cluster.server('p1').kill();
    expect(
      row('p3', `SELECT string_agg(content #>> '{}', ',' ORDER BY position, id) FROM agentmem.memories WHERE session_id = '${kept.id}'`),
    ).toBe('one,two');
    expect(row('p3', `SELECT ended_at IS NOT NULL FROM agentmem.sessions WHERE id = '${kept.id}'`)).toBe('t');
    expect(row('p3', `SELECT deleted_at IS NOT NULL FROM agentmem.sessions WHERE id = '${doomed.id}'`)).toBe('t');
  });

  it('a write whose connection dies after it was sent is OUTCOME_UNKNOWN with its id; the retry with that id stores exactly one row', async () => {
    const proxy = await FaultProxy.start(cluster.server('p1').port);
    cleanups.push(() => proxy.stop());
    const s = await store({
      urls: [cluster.server('p1').url({ port: proxy.port }), cluster.server('p2').url(), cluster.server('p3').url()],
    });
    await s.memory.memories.remember({ type: 'log', content: 'warm' });
    await cluster.server('p2').kill();
    await cluster.server('p3').kill();
    const id = randomUUID();
    proxy.onClientData = (chunk) => (chunk.includes(id) ? 'cut' : undefined);
    const error = await s.memory.memories.remember({ id, type: 'decision', content: 'maybe' }).catch((e) => e);
    expect(error).toBeInstanceOf(OutcomeUnknownError);
    expect(error.code).toBe('OUTCOME_UNKNOWN');
    // p1 for certain; a killed provider too when the router sent the retry down a pooled connection to it before it
    // noticed (sent, then lost: from the client's side that outcome is unknown as well).
    expect(error.details).toMatchObject({ id, providers: expect.arrayContaining(['p1']) });
    proxy.onClientData = undefined;
    await s.memory.memories.remember({ id, type: 'decision', content: 'maybe' });
    expect(row('p1', `SELECT count(*) FROM agentmem.memories WHERE id = '${id}'`)).toBe('1');

    // An append generated its own id: the error carries it, and the retry returns the same message.
    const session = await s.memory.sessions.create({});
    proxy.onClientData = (chunk) => (chunk.includes('did it land?') ? 'cut' : undefined);
    const lost = await s.memory.sessions.addMessage(session.id, { role: 'user', content: 'did it land?' }).catch((e) => e);
    expect(lost).toBeInstanceOf(OutcomeUnknownError);
    expect(lost.details.sessionId).toBe(session.id);
    proxy.onClientData = undefined;
    const again = await s.memory.sessions.addMessage(session.id, { id: lost.details.messageId, role: 'user', content: 'did it land?' });
    expect(again.id).toBe(lost.details.messageId);
    expect(row('p1', `SELECT count(*) FROM agentmem.memories WHERE session_id = '${session.id}'`)).toBe('1');
  });

  it('a failed-over append that finds no session says the provider that has it is unavailable, not NOT_FOUND; after an uncertain try it says OUTCOME_UNKNOWN', async () => {
    const proxy = await FaultProxy.start(cluster.server('p1').port);
    cleanups.push(() => proxy.stop());
    const s = await store({
      urls: [cluster.server('p1').url({ port: proxy.port }), cluster.server('p2').url(), cluster.server('p3').url()],
    });
    const session = await s.memory.sessions.create({}); // on p1 only (no replication)
    await proxy.setMode({ kind: 'refuse' });
    await sleep(200); // the pool sees its connections reset
    const refused = await s.memory.sessions.addMessage(session.id, { role: 'user', content: 'x' }).catch((e) => e);
    expect(refused).toBeInstanceOf(ProviderUnavailableError);
    expect(refused.message).toMatch(/p2, which took the write instead, has no such record/);
    await proxy.setMode({ kind: 'pass' });
    await waitFor(() => s.memory.router?.state().find((p) => p.name === 'p1')?.breaker === 'closed');
    proxy.onClientData = (chunk) => (chunk.includes('sent, then cut') ? 'cut' : undefined);
    const uncertain = await s.memory.sessions.addMessage(session.id, { role: 'user', content: 'sent, then cut' }).catch((e) => e);
    proxy.onClientData = undefined;
    expect(uncertain).toBeInstanceOf(OutcomeUnknownError);
  });

  it('authentication failures and an unreadable CA file are provider failures: writes fail over to a healthy provider', async () => {
    const wrongPassword = cluster.server('p1').url({ password: 'rotated-away' });
    const s = await store({ urls: [wrongPassword, cluster.server('p2').url(), cluster.server('p3').url()] });
    await s.memory.memories.remember({ type: 'log', content: 'lands on p2' });
    expect(s.memory.router?.currentWriter).toBe('p2');
    expect(s.events.some((e) => e.type === 'failover' && /password authentication failed/.test(e.reason))).toBe(true);

    const missingCa = `${cluster.server('p1').url()}?sslmode=verify-full&sslrootcert=/nonexistent/agentmem-ca.pem`;
    const t = await store({ urls: [missingCa, cluster.server('p2').url(), cluster.server('p3').url()] });
    await t.memory.memories.remember({ type: 'log', content: 'lands on p2 too' });
    expect(t.memory.router?.currentWriter).toBe('p2');
  });

  it('close() settles whatever state the only provider is in: refused, SIGSTOPped, black-holed; and right after a failover', async () => {
    const proxy = await FaultProxy.start(cluster.server('p1').port);
    cleanups.push(() => proxy.stop());
    const closeOnly = (url: string) =>
      runWorkload({ urls: [url], tenant: 'close', ack: 'async', replication: false, writers: 0, durationMs: 0, touch: true }, 30_000);

    await proxy.setMode({ kind: 'refuse' });
    await sleep(200); // the pool sees its connections reset
    const refused = await closeOnly(cluster.server('p1').url({ port: proxy.port }));
    await proxy.setMode({ kind: 'blackhole' });
    const blackholed = await closeOnly(cluster.server('p1').url({ port: proxy.port }));
    await proxy.setMode({ kind: 'pass' });
    cluster.server('p2').pause();
    const stopped = await closeOnly(cluster.server('p2').url());
    cluster.server('p2').resume();
    for (const run of [refused, blackholed, stopped])
      expect({ code: run.code, stdout: run.stdout, stderr: run.stderr }).toEqual({ code: 0, stdout: 'closed\n', stderr: '' });

    // Writers running while the primary dies: close() right after the failover.
    const during = runWorkload({
      urls: cluster.servers.map((x) => x.url()),
      tenant: 'close',
      ack: 'async',
      replication: true,
      writers: 2,
      durationMs: 2500,
    });
    await sleep(2000);
    await cluster.server('p1').kill();
    const run = await during;
    expect({ code: run.code, stdout: run.stdout, stderr: run.stderr }).toEqual({ code: 0, stdout: 'closed\n', stderr: '' });
  });

  it('a provider moved to a restored server (same name, new URL) is detected and re-captured: no write on it is skipped', async () => {
    // Use up transaction ids on p2, so the restored server's counter starts far below the stored positions.
    const old = cluster.server('p2');
    old.psql(
      'CREATE PROCEDURE burn(n int) LANGUAGE plpgsql AS $$ BEGIN FOR i IN 1..n LOOP PERFORM pg_current_xact_id(); COMMIT; END LOOP; END $$',
    );
    old.psql('CALL burn(20000)');
    old.psql('DROP PROCEDURE burn(int)');
    const [p1, p2] = [new PgProvider(providerConfig(cluster.server('p1'))), new PgProvider(providerConfig(cluster.server('p2')))];
    const replicator = new Replicator({ schema: 'agentmem' });
    const replaced = await startCluster(1, ['p2-restored']);
    let p2new: PgProvider | undefined;
    cleanups.push(async () => {
      await Promise.all([p1.close(), p2.close(), p2new?.close()]);
      await replaced.stop();
    });
    const s = await store({ tenant: 'moved' });
    await s.memory.memories.remember({ type: 'log', content: 'before the move' });
    await runSync([p1, p2], replicator);
    // pg_dump of p2, restored into a new server that takes over p2's name.
    const target = replaced.servers[0] as PgServer;
    // A dump of the schema alone carries no extensions: the ones its objects use come first (RUNBOOK).
    if (hasPgvector()) target.psql('CREATE EXTENSION IF NOT EXISTS vector');
    target.psql('CREATE EXTENSION IF NOT EXISTS btree_gin');
    const dump = join(mkdtempSync(join(tmpdir(), 'agentmem-dump-')), 'p2.sql');
    execFileSync(join(target.binDir, 'pg_dump'), [
      '--no-owner',
      '--no-privileges',
      '-n',
      'agentmem',
      '-f',
      dump,
      cluster.server('p2').url(),
    ]);
    execFileSync(join(target.binDir, 'psql'), ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', dump, target.url()]);
    p2new = new PgProvider(providerConfig(target, { name: 'p2' }));
    // New writes on the new p2, as the application would make them after the move.
    const moved = await createMemory({
      workers: false,
      config: await loadConfig({
        cwd: mkdtempSync(join(tmpdir(), 'agentmem-moved-')),
        env: {},
        overrides: { providers: [{ name: 'p2', url: target.url() }] },
      }),
      tenant: 'moved',
    });
    const ids: string[] = [];
    try {
      for (let i = 0; i < 5; i++) ids.push(await moved.memories.remember({ type: 'log', content: { afterMove: i } }));
    } finally {
      await moved.close();
    }
    const status = await syncStatus([p2new, p1], 'agentmem');
    const link = status.find((l) => l.source === 'p2' && l.target === 'p1' && l.table === 'memories');
    expect(link?.sourceChanged).toMatch(/system identifier|transaction counter/);
    expect(link?.lagRows).toBeGreaterThanOrEqual(5);
    const results = await runSync([p2new, p1], replicator);
    expect(results.some((r) => r.source === 'p2' && r.sourceChanged)).toBe(true);
    for (const id of ids) expect(row('p1', `SELECT count(*) FROM agentmem.memories WHERE id = '${id}'`)).toBe('1');
    const after = await syncStatus([p2new, p1], 'agentmem');
    expect(after.filter((l) => l.sourceChanged)).toEqual([]);
  });

  it('under a non-owner application role, replication and verify see every tenant through directUrl, and refuse without it', async () => {
    const appUrls = cluster.servers.map((x) => x.url({ user: 'agentmem_app' }));
    const ownerUrls = cluster.servers.map((x) => x.url());
    const s = await store({ urls: appUrls, directUrls: ownerUrls, replication: { enabled: true, intervalMs: 200 } });
    const written: string[] = [];
    for (const tenant of ['t-a', 't-b', 't-c']) {
      const m = s.memory.forTenant(tenant);
      for (let i = 0; i < 50; i++) written.push(await m.memories.remember({ type: 'log', content: { tenant, i } }));
    }
    await waitFor(() => {
      const n = Number(row('p3', `SELECT count(*) FROM agentmem.memories WHERE tenant_id IN ('t-a', 't-b', 't-c')`));
      return n === written.length;
    });
    // The database enforces isolation for the application role: it sees one tenant's rows at most.
    expect(row('p1', "SET ROLE agentmem_app; SELECT count(*) FROM agentmem.memories WHERE tenant_id = 't-a'")).toBe('0');

    // Without directUrl: refuse, say why, move no watermark (the store's own loop stopped first, so nothing else moves them).
    await s.close();
    const app = appUrls.map((url, i) => new PgProvider(providerConfig(cluster.servers[i]!, { url })));
    cleanups.push(() => Promise.all(app.map((p) => p.close())).then(() => undefined));
    const marks = () =>
      row(
        'p2',
        "SELECT coalesce(string_agg(source || table_name || position::text || ':' || rows_total, ',' ORDER BY source, table_name), '') FROM agentmem.replication_watermarks",
      );
    const before = marks();
    await expect(runSync(app, new Replicator({ schema: 'agentmem' }))).rejects.toBeInstanceOf(AccessIncompleteError);
    await expect(verifyProviders(app, 'agentmem')).rejects.toThrow(/row-level security.*directUrl/);
    expect(marks()).toBe(before);
    const cwd = mkdtempSync(join(tmpdir(), 'agentmem-role-'));
    writeFileSync(join(cwd, 'agentmem.config.json'), JSON.stringify({ providers: appUrls.map((url, i) => ({ name: `p${i + 1}`, url })) }));
    const cli = await runCli(['sync', 'run'], { cwd });
    expect(cli.code).toBe(1);
    expect(cli.stderr).toMatch(/agentmem_app.*cannot see every tenant.*directUrl/);
    const verify = await runCli(['sync', 'verify'], { cwd });
    expect(verify.code).toBe(1);
    expect(verify.stdout).not.toMatch(/equal/i);
  });
});
