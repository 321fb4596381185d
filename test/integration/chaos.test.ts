import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgProvider, Replicator, runSync, verifyProviders } from '../../src/index.js';
import { type PgCluster, startCluster } from '../harness/postgres.js';
import { providerConfig } from '../harness/providers.js';
import { idsOn, migrateAll, routedStore } from '../harness/router-cluster.js';

/**
 * Writers against three real servers while servers are SIGKILLed and SIGSTOPped
 * at random (one at a time, bounded in count and time), with a ledger of every
 * acknowledged write. In sync mode no acknowledged write may be missing once
 * replication settles, nothing is duplicated, and every provider is equal.
 */
let cluster: PgCluster;
beforeAll(async () => {
  cluster = await startCluster(3);
  await migrateAll(cluster);
});
afterAll(async () => {
  await cluster?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A deterministic sequence of faults, so a failure can be replayed. */
function faultPlan(seed: number, count: number) {
  let s = seed;
  const next = () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
  return Array.from({ length: count }, () => ({ server: `p${1 + Math.floor(next() * 3)}`, kind: next() < 0.5 ? 'kill' : 'stop' }) as const);
}

describe('chaos', () => {
  it('sync mode: after random SIGKILL/SIGSTOP faults, 0 acknowledged writes missing, none duplicated, all providers equal', async () => {
    const s = await routedStore(cluster, { replication: { enabled: true, ack: 'sync', intervalMs: 200 }, queryMs: 3000 });
    const ledger = new Map<string, string>();
    let failures = 0;
    let running = true;
    const writers = Array.from({ length: 3 }, async (_, w) => {
      for (let i = 0; running; i++) {
        const id = randomUUID();
        try {
          await s.memory.memories.remember({ id, type: 'log', content: { w, i } });
          ledger.set(id, `${w}:${i}`);
        } catch {
          failures++; // not acknowledged: allowed to be missing
        }
      }
    });
    const plan = faultPlan(42, 5);
    for (const fault of plan) {
      await sleep(600);
      const server = cluster.server(fault.server);
      if (fault.kind === 'kill') {
        await server.kill();
        await sleep(900);
        await server.start();
      } else {
        server.pause();
        await sleep(900);
        server.resume();
      }
    }
    await sleep(500);
    running = false;
    await Promise.all(writers);
    await s.close();

    // Settle: replicate until quiet, directly between the three servers.
    const providers = cluster.servers.map((server) => new PgProvider(providerConfig(server, { name: server.name })));
    try {
      await runSync(providers, new Replicator({ schema: 'agentmem' }));
      const report = await verifyProviders(providers, 'agentmem');
      const held = await idsOn(cluster, 'router-test');
      const missing = [...ledger.keys()].filter((id) => [...held.values()].some((ids) => !ids.has(id)));
      const figures = { faults: plan, acknowledged: ledger.size, unacknowledged: failures, missing: missing.length, equal: report.equal };
      console.log(`chaos (sync): ${JSON.stringify(figures)}`);
      expect(ledger.size).toBeGreaterThan(0);
      expect(missing).toEqual([]);
      expect(new Set(ledger.values()).size).toBe(ledger.size);
      expect(report.equal).toBe(true);
    } finally {
      await Promise.all(providers.map((p) => p.close()));
    }
  });
});
