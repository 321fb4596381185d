import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgProvider, Replicator, runSync, syncStatus, verifyProviders } from '../../src/ops/index.js';
import { FaultProxy } from '../harness/fault-proxy.js';
import { providerConfig } from '../harness/providers.js';
import { useCluster } from '../harness/router-cluster.js';
import type { Ledger, LedgerEntry } from '../harness/workload.js';
import { runWorkload, type WorkloadRun } from '../harness/workload-process.js';

/**
 * Writers in a process of their own (so a crash is a non-zero exit, not an
 * error a test runner swallows) against three real servers, while servers are
 * SIGKILLed, SIGSTOPped, black-holed and hit by pg_terminate_backend storms —
 * seeded, one fault at a time, 100 faults over the file. Every acknowledged
 * write is in a ledger, checked on every provider after settling, with
 * message positions unique and in acknowledgement order in every session.
 */
const cluster = useCluster(3, { migrate: true });
let proxies: FaultProxy[] = [];
const TENANT = 'chaos';
beforeAll(async () => {
  proxies = await Promise.all(cluster.servers.map((s) => FaultProxy.start(s.port)));
});
afterAll(async () => {
  for (const p of proxies) await p.stop();
});

type FaultKind = 'kill' | 'stop' | 'blackhole' | 'storm';
type Fault = { server: string; kind: FaultKind };

/** A deterministic sequence of faults, so a failure can be replayed from its seed. */
function faultPlan(seed: number, count: number, kinds: readonly FaultKind[]): Fault[] {
  let s = seed;
  const next = () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
  return Array.from({ length: count }, () => ({
    server: `p${1 + Math.floor(next() * 3)}`,
    kind: kinds[Math.floor(next() * kinds.length)] ?? 'kill',
  }));
}

/** One fault at a time: ~0.8 s of fault, then 0.3 s of calm. */
async function injectFaults(plan: Fault[]): Promise<void> {
  for (const fault of plan) {
    await sleep(300);
    const index = cluster.servers.findIndex((s) => s.name === fault.server);
    const server = cluster.servers[index];
    const proxy = proxies[index];
    if (!server || !proxy) throw new Error(`no server ${fault.server}`);
    if (fault.kind === 'kill') {
      await server.kill();
      await sleep(600);
      await server.start();
    } else if (fault.kind === 'stop') {
      server.pause();
      await sleep(800);
      server.resume();
    } else if (fault.kind === 'blackhole') {
      await proxy.setMode({ kind: 'blackhole' });
      await sleep(800);
      await proxy.setMode({ kind: 'pass' });
    } else {
      // Every agentmem connection on the server terminated, every 200 ms.
      for (let i = 0; i < 4; i++) {
        server.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'agentmem'");
        await sleep(200);
      }
    }
  }
}

function directProviders(names?: string[]): PgProvider[] {
  return cluster.servers
    .filter((s) => s.isRunning() && (!names || names.includes(s.name)))
    .map((s) => new PgProvider(providerConfig(s, { name: s.name })));
}

interface Check {
  providers: string[];
  equal: boolean;
  /** Acknowledged writes some provider lacks. */
  missing: LedgerEntry[];
  /** Rows whose content was written once but is stored twice. */
  duplicated: number;
  /** Sessions where two live messages share a position, per provider. */
  positionClashes: number;
  /** Sessions whose acknowledged messages are not in acknowledgement order, per provider. */
  outOfOrder: number;
}

/** Replicate until quiet, then check the ledger against every provider still running. */
async function settleAndCheck(ledger: Ledger): Promise<Check> {
  const providers = directProviders();
  try {
    await runSync(providers, new Replicator({ schema: 'agentmem' }), undefined, 10);
    const report = await verifyProviders(providers, 'agentmem');
    const check: Check = {
      providers: providers.map((p) => p.name),
      equal: report.equal,
      missing: [],
      duplicated: 0,
      positionClashes: 0,
      outOfOrder: 0,
    };
    const missing = new Set<LedgerEntry>();
    for (const provider of providers) {
      const { rows: sessions } = await provider.query<{ id: string }>(
        'SELECT id FROM agentmem.sessions WHERE tenant_id = $1 AND deleted_at IS NULL',
        [TENANT],
      );
      const { rows: memories } = await provider.query<{ id: string; session_id: string | null; memory_type: string }>(
        'SELECT id, session_id, memory_type FROM agentmem.memories WHERE tenant_id = $1 AND deleted_at IS NULL ORDER BY session_id, position, id',
        [TENANT],
      );
      const held = new Set([...sessions.map((r) => r.id), ...memories.map((r) => r.id)]);
      for (const entry of ledger.acked) if (!held.has(entry.id)) missing.add(entry);
      const { rows: dup } = await provider.query(
        'SELECT content FROM agentmem.memories WHERE tenant_id = $1 AND deleted_at IS NULL GROUP BY content HAVING count(*) > 1',
        [TENANT],
      );
      check.duplicated += dup.length;
      const { rows: clashes } = await provider.query(
        `SELECT session_id FROM agentmem.memories WHERE tenant_id = $1 AND deleted_at IS NULL AND memory_type LIKE 'message%'
          GROUP BY session_id HAVING count(*) <> count(DISTINCT position)`,
        [TENANT],
      );
      check.positionClashes += clashes.length;
      // Each writer appends to its own session one message after another: the stored order must be the order of the acks.
      const stored = new Map<string, string[]>();
      for (const m of memories) {
        if (!m.session_id || !m.memory_type.startsWith('message')) continue;
        stored.set(m.session_id, [...(stored.get(m.session_id) ?? []), m.id]);
      }
      const ackedIds = new Set(ledger.acked.map((e) => e.id));
      for (const [sessionId, ids] of stored) {
        const expected = ledger.acked.filter((e) => e.kind === 'message' && e.sessionId === sessionId).map((e) => e.id);
        const actual = ids.filter((id) => ackedIds.has(id));
        if (JSON.stringify(actual) !== JSON.stringify(expected.filter((id) => held.has(id)))) check.outOfOrder++;
      }
    }
    check.missing = [...missing];
    return check;
  } finally {
    await Promise.all(providers.map((p) => p.close()));
  }
}

function clearTenant(): void {
  for (const server of cluster.servers) {
    server.psql(`DELETE FROM agentmem.memories WHERE tenant_id = '${TENANT}'; DELETE FROM agentmem.sessions WHERE tenant_id = '${TENANT}'`);
  }
}

function figures(run: WorkloadRun, plan: Fault[], check: Check, extra: Record<string, unknown> = {}) {
  const ledger = run.ledger;
  return {
    faults: plan.length,
    kinds: Object.fromEntries(['kill', 'stop', 'blackhole', 'storm'].map((k) => [k, plan.filter((f) => f.kind === k).length])),
    acknowledged: ledger?.acked.length ?? 0,
    failed: ledger?.failed ?? 0,
    unknownOutcome: ledger?.unknownOutcome ?? 0,
    notDurable: ledger?.notDurable ?? 0,
    unresolved: ledger?.unresolved.length ?? 0,
    missing: check.missing.length,
    duplicated: check.duplicated,
    positionClashes: check.positionClashes,
    outOfOrder: check.outOfOrder,
    equal: check.equal,
    ...extra,
  };
}

/** The workload ended by itself, cleanly: no crash, no hang, close() settled. */
function expectClean(run: WorkloadRun): Ledger {
  expect({ code: run.code, signal: run.signal, stderr: run.stderr.slice(0, 2000) }).toEqual({ code: 0, signal: null, stderr: '' });
  expect(run.stdout).toContain('closed');
  expect(run.ledger).toBeDefined();
  return run.ledger as Ledger;
}

/** Every acknowledged write on every provider, once, in acknowledgement order, with all providers equal. */
function expectEverywhere(ledger: Ledger, check: Check): void {
  expect(ledger.acked.length).toBeGreaterThan(100);
  expect(check.missing).toEqual([]);
  expect(check.duplicated).toBe(0);
  expect(check.positionClashes).toBe(0);
  expect(check.outOfOrder).toBe(0);
  expect(check.equal).toBe(true);
}

const urls = () => cluster.servers.map((s, i) => s.url({ port: proxies[i]?.port }));

describe('chaos (100 faults over the file)', () => {
  it('sync acknowledgement under 45 random kill/stop/black-hole/storm faults: nothing acknowledged is missing anywhere, no duplicates, positions unique and in order', async () => {
    clearTenant();
    const plan = faultPlan(42, 45, ['kill', 'stop', 'blackhole', 'storm']);
    const running = runWorkload({ urls: urls(), tenant: TENANT, ack: 'sync', replication: true, writers: 4, durationMs: 50_000 });
    await sleep(1500);
    await injectFaults(plan);
    const run = await running;
    const ledger = expectClean(run);
    const check = await settleAndCheck(ledger);
    console.log(`chaos (sync): ${JSON.stringify(figures(run, plan, check))}`);
    expectEverywhere(ledger, check);
  }, 240_000);

  it('connection-kill storms (30) on every server under 4 writers: the process never crashes and every acknowledged write is everywhere', async () => {
    clearTenant();
    const plan = faultPlan(11, 30, ['storm']);
    const running = runWorkload({ urls: urls(), tenant: TENANT, ack: 'async', replication: true, writers: 4, durationMs: 36_000 });
    await sleep(1000);
    await injectFaults(plan);
    const run = await running;
    const ledger = expectClean(run);
    const check = await settleAndCheck(ledger);
    console.log(`chaos (storms): ${JSON.stringify(figures(run, plan, check))}`);
    expectEverywhere(ledger, check);
  }, 240_000);

  it('async acknowledgement, 25 faults, then the writing provider lost for good: every missing write lies within the lag measured at the loss', async () => {
    clearTenant();
    const plan = faultPlan(7, 25, ['kill', 'stop', 'blackhole', 'storm']);
    const running = runWorkload({ urls: urls(), tenant: TENANT, ack: 'async', replication: true, writers: 4, durationMs: 36_000 });
    await sleep(1000);
    await injectFaults(plan);
    await sleep(1500);

    // The loss: find the provider taking writes (the newest row's origin), measure how far its changes lag, SIGKILL it for good.
    const probe = directProviders();
    const newest = await Promise.all(
      probe.map((p) =>
        p.query<{ origin: string; version: string }>(
          'SELECT origin, version::text AS version FROM agentmem.memories WHERE tenant_id = $1 ORDER BY version DESC LIMIT 1',
          [TENANT],
        ),
      ),
    );
    const victim = newest.flatMap((r) => r.rows).sort((a, b) => (BigInt(b.version) > BigInt(a.version) ? 1 : -1))[0]?.origin ?? 'p1';
    const measuredAt = Date.now();
    const lagAtLoss = await syncStatus(probe, 'agentmem').finally(() => Promise.all(probe.map((p) => p.close())));
    const lagSeconds = Math.max(0, ...lagAtLoss.filter((l) => l.source === victim).map((l) => l.lagSeconds));
    await cluster.server(victim).kill();
    const lostAt = Date.now();
    const run = await running;
    const ledger = expectClean(run);
    const check = await settleAndCheck(ledger);
    // Lag is reported to a tenth of a second: that much slack for rounding.
    const earliestAllowed = measuredAt - lagSeconds * 1000 - 100;
    const outside = check.missing.filter((e) => e.ackedAt < earliestAllowed);
    const missingAt = check.missing.map((e) => e.ackedAt - lostAt);
    console.log(
      `chaos (async): ${JSON.stringify(
        figures(run, plan, check, {
          lost: victim,
          lagAtLossSeconds: lagSeconds,
          missingAckedWithinMs: missingAt.length ? [Math.min(...missingAt), Math.max(...missingAt)] : [],
          outsideLag: outside.length,
          survivors: check.providers,
        }),
      )}`,
    );
    expect(ledger.acked.length).toBeGreaterThan(100);
    expect(check.providers).not.toContain(victim);
    expect(outside).toEqual([]);
    expect(check.duplicated).toBe(0);
    expect(check.positionClashes).toBe(0);
    expect(check.outOfOrder).toBe(0);
    expect(check.equal).toBe(true);
    await cluster.server(victim).start(); // for whatever runs after
  }, 240_000);
});
