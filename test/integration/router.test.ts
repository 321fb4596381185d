import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_TIMEOUTS } from '../../src/config/index.js';
import { NotDurableError, OutcomeUnknownError, ProviderUnavailableError, QueryError } from '../../src/index.js';
import { registry } from '../../src/observability/metrics.js';
import { Replicator, runSync } from '../../src/ops/index.js';
import { runCli } from '../harness/cli.js';
import { FaultProxy } from '../harness/fault-proxy.js';
import { TEST_PASSWORD } from '../harness/postgres.js';
import { pgProvider } from '../harness/providers.js';
import { idsOn, type RoutedStore, routedStore, useCluster } from '../harness/router-cluster.js';
import { waitFor } from '../harness/wait.js';

const cluster = useCluster(3, { migrate: true });
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  // Every test leaves all three servers running and answering.
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

/** Fails the test if the promise is still pending after `ms`: a guard against hangs, not a speed check. */
async function noHang<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still waiting after ${ms} ms: the call hung`)), ms);
  });
  try {
    return await Promise.race([promise, guard]);
  } finally {
    clearTimeout(timer);
  }
}

/** Run `writers` loops of remember() until stop() is called; record every acknowledged id and every failure. */
function writeLoad(s: RoutedStore, writers: number) {
  const acked = new Map<string, string>(); // id → "writer:i"
  const failures: unknown[] = [];
  let running = true;
  let longestMs = 0;
  const loops = Array.from({ length: writers }, async (_, w) => {
    for (let i = 0; running; i++) {
      const id = randomUUID();
      const started = performance.now();
      try {
        await s.memory.memories.remember({ id, type: 'log', content: { writer: w, i } });
        acked.set(id, `${w}:${i}`);
      } catch (error) {
        failures.push(error);
      }
      longestMs = Math.max(longestMs, performance.now() - started);
    }
  });
  return {
    acked,
    failures,
    longest: () => longestMs,
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

describe('router over three real servers', () => {
  it('SIGKILL of the primary under write load: writes continue on the next provider, none lost, none duplicated', async () => {
    const s = await store();
    const load = writeLoad(s, 4);
    await sleep(800);
    await cluster.server('p1').kill();
    await sleep(1500);
    await load.stop();
    expect(load.failures.map((f) => (f as Error).message)).toEqual([]);
    expect(s.memory.router?.currentWriter).toBe('p2');
    expect(s.events.some((e) => e.type === 'failover' && e.from === 'p1' && e.to === 'p2')).toBe(true);
    expect(s.events.some((e) => e.type === 'breaker' && e.provider === 'p1' && e.state === 'open')).toBe(true);
    // Counted as metrics, and visible to `agentmem status` (from the event log), without a password.
    expect(await registry.getSingleMetricAsString('agentmem_failovers_total')).toMatch(/kind="failover",from="p1",to="p2"\} [1-9]/);
    // The router's probes publish what this process sees: p1 down, the others up, pool use, operation durations.
    const up = await registry.getSingleMetricAsString('agentmem_provider_up');
    expect(up).toMatch(/provider="p1"\} 0/);
    expect(up).toMatch(/provider="p2"\} 1/);
    expect(await registry.getSingleMetricAsString('agentmem_pool_connections')).toMatch(/provider="p2",state="idle"\} \d/);
    expect(await registry.getSingleMetricAsString('agentmem_query_duration_seconds')).toMatch(
      /agentmem_query_duration_seconds_count\{operation="memory.remember",provider="p2"\} [1-9]/,
    );
    const cwd = dirname(dirname(s.config.router.eventLog as string));
    writeFileSync(
      join(cwd, 'agentmem.config.json'),
      JSON.stringify({ providers: cluster.servers.map((x) => ({ name: x.name, url: x.url(), timeouts: { connectMs: 500 } })) }),
    );
    const status = await runCli(['status', '--json'], { cwd });
    expect(status.stdout).not.toContain(TEST_PASSWORD);
    const recent = JSON.parse(status.stdout).recentEvents as { type: string; from?: string; to?: string }[];
    expect(recent.some((e) => e.type === 'failover' && e.from === 'p1' && e.to === 'p2')).toBe(true);

    await cluster.server('p1').start();
    const held = await idsOn(cluster, 'router-test');
    const everywhere = new Set([...held.values()].flatMap((ids) => [...ids]));
    const missing = [...load.acked.keys()].filter((id) => !everywhere.has(id));
    expect(missing).toEqual([]);
    // No write was replayed under a new id: each (writer, i) has exactly one id.
    const contents = new Set(load.acked.values());
    expect(contents.size).toBe(load.acked.size);
    expect(held.get('p3')?.size ?? 0).toBe(0); // p2 took over; p3 was never needed
    await cluster.server('p1').psql("DELETE FROM agentmem.memories WHERE tenant_id = 'router-test'");
    await cluster.server('p2').psql("DELETE FROM agentmem.memories WHERE tenant_id = 'router-test'");
  });

  it('SIGSTOP of the primary: no caller waits past its bound, the provider is marked down, traffic moves, and failback waits for catch-up', async () => {
    const s = await store({ queryMs: 5000 });
    const router = s.memory.router!;
    await s.memory.memories.remember({ type: 'log', content: 'before' });
    cluster.server('p1').pause();
    // Each call is bounded by its query timeout (the breaker usually moves it sooner): none hangs.
    const results = await noHang(
      Promise.allSettled(Array.from({ length: 6 }, (_, i) => s.memory.memories.remember({ type: 'log', content: { during: i } }))),
      15_000,
    );
    expect(results.every((r) => r.status === 'fulfilled')).toBe(true);
    expect(router.health('p1').state).toMatch(/open|half-open/);
    expect(router.currentWriter).toBe('p2');

    cluster.server('p1').resume();
    for (let i = 0; i < 50 && router.health('p1').state !== 'closed'; i++) await sleep(100);
    expect(router.health('p1').state).toBe('closed');
    // Recovered, but fenced: p2 took writes meanwhile, so p1 waits for catch-up.
    expect(router.state().find((p) => p.name === 'p1')?.fenced).toBe(true);
    await s.memory.memories.remember({ type: 'log', content: 'still on p2' });
    expect(router.currentWriter).toBe('p2');
    router.confirmCaughtUp('p1');
    await s.memory.memories.remember({ type: 'log', content: 'back on p1' });
    expect(router.currentWriter).toBe('p1');
    expect(s.events.map((e) => e.type)).toEqual(expect.arrayContaining(['failover', 'fenced', 'unfenced', 'failback']));
  });

  it('a black-holed network path to the primary moves traffic within the probe bound', async () => {
    const proxy = await FaultProxy.start(cluster.server('p1').port);
    cleanups.push(() => proxy.stop());
    const s = await store({ urls: [cluster.server('p1').url({ port: proxy.port })] });
    await s.memory.memories.remember({ type: 'log', content: 'via proxy' });
    await proxy.setMode({ kind: 'blackhole' });
    await noHang(s.memory.memories.remember({ type: 'log', content: 'black hole' }), 15_000);
    expect(s.memory.router?.currentWriter).toBe('p2');
    expect(s.memory.router?.health('p1').state).toMatch(/open|half-open/);
  });

  it('an SQL error does not fail over and does not count against the provider', async () => {
    const s = await store();
    const router = s.memory.router!;
    const id = randomUUID();
    const insert = (tx: { query: (sql: string, params: unknown[]) => Promise<unknown> }) =>
      tx.query(
        "INSERT INTO agentmem.settings (tenant_id, category, key, id, value, version, origin) VALUES ('router-test', 'c', 'dup', $1, '1', 1, 'x')",
        [id],
      );
    await router.write('test.insert', (tx) => insert(tx));
    for (let i = 0; i < 5; i++) {
      await expect(router.write('test.insert', (tx) => insert(tx))).rejects.toBeInstanceOf(QueryError);
    }
    await expect(router.write('test.syntax', (tx) => tx.query('SELEC nonsense'))).rejects.toBeInstanceOf(QueryError);
    expect(router.currentWriter).toBe('p1');
    expect(router.health('p1').state).toBe('closed');
    expect(s.events).toEqual([]);
    // Only p1 ever saw the row.
    expect(cluster.server('p2').psql("SELECT count(*) FROM agentmem.settings WHERE key = 'dup'").trim()).toBe('0');
  });

  it('a 1 s pause does not fail over', async () => {
    // The default connect timeout (5 s): the harness's 1 s one is itself no longer than the pause, and a
    // connection the pool opened as the pause began failed over on it (CI, under load).
    const s = await store({ connectMs: DEFAULT_TIMEOUTS.connectMs });
    const load = writeLoad(s, 2);
    await sleep(300);
    cluster.server('p1').pause();
    await sleep(1000);
    cluster.server('p1').resume();
    await sleep(500);
    await load.stop();
    expect(load.failures).toEqual([]);
    expect(s.events.filter((e) => e.type === 'failover' || (e.type === 'breaker' && e.state === 'open'))).toEqual([]);
    const held = await idsOn(cluster, 'router-test');
    expect([...load.acked.keys()].every((id) => held.get('p1')?.has(id))).toBe(true);
  });

  it('this process stalling (a long synchronous task) is not the provider going silent: no breaker opens, the waiting call finishes', async () => {
    const s = await store();
    const router = s.memory.router!;
    // A call of several round trips, in flight when this process stops running for 2 s (silenceMs is 1.2 s):
    // the server answered the first statement meanwhile; the next one, sent after the stall, takes a while.
    const call = router.read('test.stall', async (tx) => {
      await tx.query('SELECT pg_sleep(0.1)');
      await tx.query('SELECT pg_sleep(0.1)');
      return Number((await tx.query<{ n: number }>('SELECT 2 AS n')).rows[0]?.n);
    });
    await sleep(20);
    const until = performance.now() + 2000;
    while (performance.now() < until) {
      // Busy: no timer, no I/O, no watchdog runs.
    }
    expect(await noHang(call, 10_000)).toBe(2);
    await sleep(300);
    expect(s.events.filter((e) => e.type === 'failover' || (e.type === 'breaker' && e.state === 'open'))).toEqual([]);
    expect(router.health('p1').state).toBe('closed');
  });

  it('a slow provider is not a hung one: +400 ms each way for 10 s under writes opens no breaker and moves nothing', async () => {
    const proxy = await FaultProxy.start(cluster.server('p1').port);
    cleanups.push(() => proxy.stop());
    // A connection through 800 ms of round trip takes several of them to open: give it room, as such a user would.
    const s = await store({ urls: [cluster.server('p1').url({ port: proxy.port })], connectMs: 10_000 });
    const load = writeLoad(s, 2);
    await sleep(500);
    await proxy.setMode({ kind: 'latency', ms: 400 });
    await sleep(10_000);
    await proxy.setMode({ kind: 'pass' });
    await sleep(500);
    await load.stop();
    expect(load.failures).toEqual([]);
    expect(s.events.filter((e) => e.type === 'failover' || e.type === 'breaker')).toEqual([]);
    expect(s.memory.router?.currentWriter).toBe('p1');
    expect(s.memory.router?.health('p1').state).toBe('closed');
    // The writes really crossed the slow path: some took a full round trip or more.
    expect(load.longest()).toBeGreaterThanOrEqual(800);
    const held = await idsOn(cluster, 'router-test');
    expect([...load.acked.keys()].every((id) => held.get('p1')?.has(id))).toBe(true);
  }, 30_000);

  it('a pool full of long statements is busy, not silent: the probes have their own connection, nothing fails over', async () => {
    const s = await store();
    const router = s.memory.router!;
    // Every pooled connection (8) held for 2 s, and more calls queued behind them.
    const sleeps = Array.from({ length: 12 }, () =>
      router.read('test.sleep', (tx) => tx.query('SELECT pg_sleep(2)'), { transaction: false }),
    );
    const results = await Promise.allSettled(sleeps);
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect(s.events.filter((e) => e.type === 'failover' || e.type === 'breaker')).toEqual([]);
    expect(router.health('p1').state).toBe('closed');
  }, 30_000);

  it('pg_terminate_backend of pooled connections never crashes the process; writes go on', async () => {
    const s = await store();
    const load = writeLoad(s, 3);
    await sleep(300);
    for (let i = 0; i < 3; i++) {
      cluster.server('p1').psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'agentmem'");
      await sleep(200);
    }
    await load.stop();
    expect(load.failures).toEqual([]);
    expect(load.acked.size).toBeGreaterThan(0);
  });

  it('a commit whose acknowledgement was lost is not duplicated anywhere', async () => {
    const proxy = await FaultProxy.start(cluster.server('p1').port);
    cleanups.push(() => proxy.stop());
    const s = await store({ urls: [cluster.server('p1').url({ port: proxy.port })] });
    const session = await s.memory.sessions.create({ agentId: 'lost-ack' });
    const messages = Array.from({ length: 5 }, (_, i) => ({ id: randomUUID(), role: 'user' as const, content: `m${i}` }));
    // Cut the link right after the client sends COMMIT: the server commits, the client never hears so.
    let armed = true;
    proxy.onClientData = (chunk) => {
      if (armed && chunk.includes('COMMIT')) {
        armed = false;
        return 'cut';
      }
      return undefined;
    };
    await s.memory.sessions.save({ session: { id: session.id }, messages });
    expect(armed).toBe(false);
    proxy.onClientData = undefined;
    // Re-saving, wherever it lands, adds nothing.
    await s.memory.sessions.save({ session: { id: session.id }, messages });
    for (const server of cluster.servers) {
      const counts = server
        .psql(`SELECT count(*), count(DISTINCT id) FROM agentmem.memories WHERE tenant_id = 'router-test' AND session_id = '${session.id}'`)
        .trim();
      const [total, distinct] = counts.split('|').map(Number);
      expect(total).toBe(distinct);
      expect([0, 5]).toContain(total);
    }
    // A single-statement write cut after it was sent: retried as the same id, stored once.
    const id = randomUUID();
    armed = true;
    proxy.onClientData = (chunk) => {
      if (armed && chunk.includes(id)) {
        armed = false;
        return 'cut';
      }
      return undefined;
    };
    await s.memory.memories.remember({ id, type: 'decision', content: 'exactly once' });
    const held = await idsOn(cluster, 'router-test');
    expect([...held.values()].filter((ids) => ids.has(id)).length).toBeGreaterThanOrEqual(1);
  });

  it('+200 ms on one provider moves nearest reads off it; read-your-writes holds', async () => {
    const proxy = await FaultProxy.start(cluster.server('p2').port);
    cleanups.push(() => proxy.stop());
    const s = await store({ readMode: 'nearest', urls: [cluster.server('p1').url(), cluster.server('p2').url({ port: proxy.port })] });
    const router = s.memory.router!;
    const where = () => router.read('test.where', async (_tx, context) => context.provider);
    await sleep(600);
    await proxy.setMode({ kind: 'latency', ms: 200 });
    for (let i = 0; i < 40 && (router.health('p2').latencyMs ?? 0) < 100; i++) await sleep(100);
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) seen.add(await where());
    expect(seen.has('p2')).toBe(false);
    // After this caller writes, its reads go only where that write is (until replication says otherwise).
    const id = await s.memory.memories.remember({ type: 'decision', content: 'read me back' });
    for (let i = 0; i < 10; i++) {
      expect((await s.memory.memories.get(id))?.content).toBe('read me back');
    }
    const nearestAfterWrite = await router.read('test.where', async (_tx, c) => c.provider, { after: s.memory.storeContext.token.last! });
    expect(nearestAfterWrite).toBe(s.memory.storeContext.token.last?.provider);
  });

  it('with replication running, nearest reads move to the nearest provider once it holds the caller’s write, and never earlier', async () => {
    // The earlier tests wrote without replication (as much as the machine's speed let them): copy that
    // backlog now, so the wait below is for this test's write, not for theirs behind a 20 ms proxy.
    const direct = cluster.servers.map((server) => pgProvider(server));
    try {
      await runSync(direct, new Replicator({ schema: 'agentmem' }));
    } finally {
      await Promise.all(direct.map((p) => p.close()));
    }
    const proxy = await FaultProxy.start(cluster.server('p1').port);
    cleanups.push(() => proxy.stop());
    await proxy.setMode({ kind: 'latency', ms: 20 });
    const s = await store({
      readMode: 'nearest',
      urls: [cluster.server('p1').url({ port: proxy.port })],
      replication: { enabled: true, intervalMs: 50 },
    });
    const router = s.memory.router!;
    for (let i = 0; i < 40 && (router.health('p1').latencyMs ?? 0) < 15; i++) await sleep(100);
    const where = () => router.read('test.where', async (_tx, c) => c.provider, { after: s.memory.storeContext.token.last! });
    // Write to the (slow) primary and read back at once, again and again, while replication races
    // the reads: a read sent to a provider before the write reached it would come back empty.
    for (let i = 0; i < 40; i++) {
      const id = await s.memory.memories.remember({ type: 'log', content: { i } });
      expect(s.memory.storeContext.token.last?.provider).toBe('p1');
      if (i % 4 === 3) await sleep(100);
      expect((await s.memory.memories.get(id))?.content).toEqual({ i });
    }
    // Once replication has carried the caller's last write, its reads go to the nearest provider.
    const id = await s.memory.memories.remember({ type: 'decision', content: 'near me' });
    const token = s.memory.storeContext.token.last!;
    expect(await where()).toBe('p1');
    for (let i = 0; i < 150 && !router.replicatedTo('p2', token); i++) await sleep(100);
    expect(router.replicatedTo('p2', token)).toBe(true);
    expect(['p2', 'p3']).toContain(await where());
    expect((await s.memory.memories.get(id))?.content).toBe('near me');
  });

  it('a read never returns data older than the caller’s own last write, even across a failover', async () => {
    const s = await store();
    const first = await s.memory.memories.remember({ type: 'decision', content: 'written to p1' });
    expect(s.memory.storeContext.token.last?.provider).toBe('p1');
    await cluster.server('p1').kill();
    // p2 has not got the caller's write (no replication yet): refusing beats answering stale.
    await expect(s.memory.memories.get(first)).rejects.toBeInstanceOf(ProviderUnavailableError);
    // The next write lands on p2; from then on p2 answers, and holds that write.
    const second = await s.memory.memories.remember({ type: 'decision', content: 'written to p2' });
    expect(s.memory.storeContext.token.last?.provider).toBe('p2');
    expect((await s.memory.memories.get(second))?.content).toBe('written to p2');
    // Another caller, with no writes of its own, may read anywhere available.
    const other = s.memory.forTenant('router-test');
    expect(await other.memories.get(first)).toBeNull();
  });

  it('sync acknowledgement: a write is on two providers before it returns (RPO 0)', async () => {
    const s = await store({ replication: { enabled: false, ack: 'sync' } });
    const id = await s.memory.memories.remember({ type: 'decision', content: 'must survive p1' });
    await cluster.server('p1').kill();
    const held = await idsOn(cluster, 'router-test');
    expect(held.get('p2')?.has(id)).toBe(true);
    // With only one provider left, a sync write cannot be acknowledged: it says so, names where it
    // committed, and carries the id to retry with.
    await cluster.server('p3').kill();
    const alone = await s.memory.memories.remember({ type: 'log', content: 'alone' }).catch((e) => e);
    expect(alone).toBeInstanceOf(NotDurableError);
    expect(alone.details).toMatchObject({ committedOn: 'p2' });
    expect(typeof alone.details.id).toBe('string');
    // The retry with the same id, once a second provider is back, is acknowledged and stores one row.
    await cluster.server('p3').start();
    await waitFor(() => s.memory.router?.state().find((p) => p.name === 'p3')?.breaker === 'closed');
    // Retried as a caller would (the error says to), until acknowledged: a clean-clone CI run once found
    // p3 unavailable again right after its breaker had closed, while the restarted server settled.
    let retry: unknown;
    for (const until = Date.now() + 15_000; ; await sleep(200)) {
      retry = await s.memory.memories.remember({ id: alone.details.id, type: 'log', content: 'alone' }).catch((e) => e);
      if (!(retry instanceof NotDurableError) || Date.now() > until) break;
      // Said in the log, so a run where it happens shows what the router saw.
      console.warn(`sync acknowledgement test: retrying (${retry.message}); router state ${JSON.stringify(s.memory.router?.state())}`);
    }
    if (retry instanceof Error)
      throw new Error(`the retry was not acknowledged: ${retry.message}; ${JSON.stringify(s.memory.router?.state())}`);
    const after = await idsOn(cluster, 'router-test');
    expect(after.get('p2')?.has(alone.details.id)).toBe(true);
    expect(after.get('p3')?.has(alone.details.id)).toBe(true);
  });

  it('a recovered primary is caught up by replication, then takes writes again (failback)', async () => {
    const s = await store({ replication: { enabled: true, intervalMs: 200 } });
    const router = s.memory.router!;
    await s.memory.memories.remember({ type: 'log', content: 'before' });
    await cluster.server('p1').kill();
    const during = [];
    for (let i = 0; i < 5; i++) during.push(await s.memory.memories.remember({ type: 'log', content: { during: i } }));
    expect(router.currentWriter).toBe('p2');
    await cluster.server('p1').start();
    for (let i = 0; i < 100 && router.currentWriter !== 'p1'; i++) {
      await sleep(100);
      await s.memory.memories.remember({ type: 'log', content: 'probe write' });
    }
    expect(router.currentWriter).toBe('p1');
    expect(s.events.map((e) => e.type)).toEqual(expect.arrayContaining(['failover', 'fenced', 'unfenced', 'failback']));
    // Everything written during the outage reached p1 before it took writes again.
    const held = await idsOn(cluster, 'router-test');
    expect(during.every((id) => held.get('p1')?.has(id))).toBe(true);
  });

  it('with every provider down, a call fails with PROVIDER_UNAVAILABLE, bounded', async () => {
    const s = await store();
    for (const server of cluster.servers) await server.kill();
    const error = await noHang(
      s.memory.memories.remember({ type: 'log', content: 'nowhere' }).catch((e: unknown) => e),
      20_000,
    );
    // Usually nothing was sent. If a pooled connection to a just-killed server carried the statement
    // out before its close was seen, the library cannot know it never arrived, and says so: OUTCOME_UNKNOWN.
    expect(
      [ProviderUnavailableError, OutcomeUnknownError].some((kind) => error instanceof kind),
      String(error),
    ).toBe(true);
  });
});
