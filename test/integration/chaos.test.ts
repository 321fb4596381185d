import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgProvider, Replicator, runSync, syncStatus, verifyProviders } from '../../src/index.js';
import { FaultProxy } from '../harness/fault-proxy.js';
import { type PgCluster, startCluster } from '../harness/postgres.js';
import { providerConfig } from '../harness/providers.js';
import { idsOn, migrateAll, type RoutedStore, routedStore } from '../harness/router-cluster.js';

/**
 * Writers against three real servers while servers are SIGKILLed, SIGSTOPped
 * and black-holed at random (one at a time, bounded in count and time), with a
 * ledger of every acknowledged write. The store reaches each server through a
 * fault proxy; settling and checking go to the servers directly.
 */
let cluster: PgCluster;
let proxies: FaultProxy[] = [];
beforeAll(async () => {
  cluster = await startCluster(3);
  await migrateAll(cluster);
  proxies = await Promise.all(cluster.servers.map((s) => FaultProxy.start(s.port)));
});
afterAll(async () => {
  for (const p of proxies) await p.stop();
  await cluster?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
type Fault = { server: string; kind: 'kill' | 'stop' | 'blackhole' };

/** A deterministic sequence of faults, so a failure can be replayed. */
function faultPlan(seed: number, count: number): Fault[] {
  let s = seed;
  const next = () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
  const kinds = ['kill', 'stop', 'blackhole'] as const;
  return Array.from({ length: count }, () => ({ server: `p${1 + Math.floor(next() * 3)}`, kind: kinds[Math.floor(next() * 3)] ?? 'kill' }));
}

async function injectFaults(plan: Fault[]): Promise<void> {
  for (const fault of plan) {
    await sleep(600);
    const index = cluster.servers.findIndex((s) => s.name === fault.server);
    const server = cluster.servers[index];
    const proxy = proxies[index];
    if (!server || !proxy) throw new Error(`no server ${fault.server}`);
    if (fault.kind === 'kill') {
      await server.kill();
      await sleep(900);
      await server.start();
    } else if (fault.kind === 'stop') {
      server.pause();
      await sleep(900);
      server.resume();
    } else {
      await proxy.setMode({ kind: 'blackhole' });
      await sleep(900);
      await proxy.setMode({ kind: 'pass' });
    }
  }
}

interface Ledger {
  acked: Map<string, { label: string; at: number }>;
  unacknowledged: number;
  stop(): Promise<void>;
}

/** Three writers, each remembering one new memory after another until stopped. */
function startWriters(s: RoutedStore): Ledger {
  const ledger: Ledger = { acked: new Map(), unacknowledged: 0, stop: async () => undefined };
  let running = true;
  const writers = Array.from({ length: 3 }, async (_, w) => {
    for (let i = 0; running; i++) {
      const id = randomUUID();
      try {
        await s.memory.memories.remember({ id, type: 'log', content: { w, i } });
        ledger.acked.set(id, { label: `${w}:${i}`, at: Date.now() });
      } catch {
        ledger.unacknowledged++; // not acknowledged: allowed to be missing
        await sleep(20);
      }
    }
  });
  ledger.stop = async () => {
    running = false;
    await Promise.all(writers);
  };
  return ledger;
}

/** Providers straight to the servers still running (not through the proxies). */
function directProviders(names?: string[]): PgProvider[] {
  return cluster.servers
    .filter((s) => s.isRunning() && (!names || names.includes(s.name)))
    .map((s) => new PgProvider(providerConfig(s, { name: s.name })));
}

/** Replicate until quiet, then compare: which acknowledged writes are missing anywhere, duplicates, checksums. */
async function settleAndCheck(ledger: Ledger) {
  const providers = directProviders();
  try {
    await runSync(providers, new Replicator({ schema: 'agentmem' }), undefined, 10);
    const report = await verifyProviders(providers, 'agentmem');
    const held = await idsOn(cluster, 'router-test');
    const missing = [...ledger.acked.keys()].filter((id) => [...held.values()].some((ids) => !ids.has(id)));
    const { rows: duplicated } = await (providers[0] as PgProvider).query(
      "SELECT content FROM agentmem.memories WHERE tenant_id = 'router-test' GROUP BY content HAVING count(*) > 1",
    );
    return { missing, duplicated: duplicated.length, equal: report.equal, providers: providers.map((p) => p.name) };
  } finally {
    await Promise.all(providers.map((p) => p.close()));
  }
}

function storeOptions(ack: 'async' | 'sync') {
  return {
    urls: cluster.servers.map((s, i) => s.url({ port: proxies[i]?.port })),
    replication: { enabled: true, ack, intervalMs: 200 },
    queryMs: 3000,
  };
}

describe('chaos', () => {
  it('sync mode: after random SIGKILL/SIGSTOP/black-hole faults, 0 acknowledged writes missing, none duplicated, all providers equal', async () => {
    const s = await routedStore(cluster, storeOptions('sync'));
    const ledger = startWriters(s);
    const plan = faultPlan(42, 6);
    await injectFaults(plan);
    await sleep(500);
    await ledger.stop();
    await s.close();

    const result = await settleAndCheck(ledger);
    const figures = {
      faults: plan,
      acknowledged: ledger.acked.size,
      unacknowledged: ledger.unacknowledged,
      ...result,
      missing: result.missing.length,
    };
    console.log(`chaos (sync): ${JSON.stringify(figures)}`);
    expect(ledger.acked.size).toBeGreaterThan(0);
    expect(result.missing).toEqual([]);
    expect(result.duplicated).toBe(0);
    expect(result.equal).toBe(true);
  });

  it('async mode: faults, then the writing provider lost for good; every missing write is reported and lies within the lag measured at the loss', async () => {
    await clearTenant();
    const s = await routedStore(cluster, storeOptions('async'));
    const ledger = startWriters(s);
    const plan = faultPlan(7, 4);
    await injectFaults(plan);
    await sleep(600);

    // The loss: measure how far the writer's changes lag behind the others, then SIGKILL it for good.
    const victim = s.memory.router?.currentWriter ?? 'p1';
    const survivors = cluster.servers.map((x) => x.name).filter((n) => n !== victim);
    const measuredAt = Date.now();
    const probe = directProviders([victim, ...survivors]);
    const lagAtLoss = await syncStatus(probe, 'agentmem').finally(() => Promise.all(probe.map((p) => p.close())));
    const lagSeconds = Math.max(0, ...lagAtLoss.filter((l) => l.source === victim && l.table === 'memories').map((l) => l.lagSeconds));
    await cluster.server(victim).kill();
    const lostAt = Date.now();
    await sleep(1500); // writers fail over and go on
    await ledger.stop();
    await s.close();

    const result = await settleAndCheck(ledger);
    const missingAcks = result.missing.map((id) => ledger.acked.get(id)?.at ?? 0);
    // Lag is reported to a tenth of a second: that much slack for rounding.
    const earliestAllowed = measuredAt - lagSeconds * 1000 - 100;
    const outside = missingAcks.filter((at) => at < earliestAllowed);
    const figures = {
      faults: plan,
      lost: victim,
      lagAtLossSeconds: lagSeconds,
      acknowledged: ledger.acked.size,
      unacknowledged: ledger.unacknowledged,
      missing: result.missing.length,
      missingAckedWithinMs: missingAcks.length ? [Math.min(...missingAcks) - lostAt, Math.max(...missingAcks) - lostAt] : [],
      outsideLag: outside.length,
      duplicated: result.duplicated,
      equal: result.equal,
      survivors: result.providers,
    };
    console.log(`chaos (async): ${JSON.stringify(figures)}`);
    console.log(
      `chaos (async) missing writes (writer: sequence ranges): ${JSON.stringify(ranges(result.missing.map((id) => ledger.acked.get(id)?.label ?? '')))}`,
    );
    expect(ledger.acked.size).toBeGreaterThan(0);
    expect(result.providers).toEqual(survivors);
    expect(outside).toEqual([]);
    expect(result.duplicated).toBe(0);
    expect(result.equal).toBe(true);
    await cluster.server(victim).start(); // for whatever runs after
  });
});

/** Each test counts its own writes: remove what an earlier test left, on every server. */
async function clearTenant(): Promise<void> {
  for (const server of cluster.servers) server.psql("DELETE FROM agentmem.memories WHERE tenant_id = 'router-test'");
}

/** "w:i" labels as runs per writer ("0": "6487-6520, 6522"), so a report of thousands of writes stays readable. */
function ranges(labels: string[]): Record<string, string> {
  const byWriter = new Map<string, number[]>();
  for (const label of labels) {
    const [w, i] = label.split(':');
    byWriter.set(w ?? '?', [...(byWriter.get(w ?? '?') ?? []), Number(i)]);
  }
  const out: Record<string, string> = {};
  for (const [w, seqs] of [...byWriter].sort()) {
    seqs.sort((a, b) => a - b);
    const runs: string[] = [];
    let start = seqs[0] as number;
    for (let k = 1; k <= seqs.length; k++) {
      const prev = seqs[k - 1] as number;
      if (seqs[k] === prev + 1) continue;
      runs.push(start === prev ? `${start}` : `${start}-${prev}`);
      start = seqs[k] as number;
    }
    out[w] = runs.join(', ');
  }
  return out;
}
