/**
 * A workload in a process of its own, so that a crash (an unhandled 'error'
 * event, an unhandled rejection) ends it with a non-zero exit code instead of
 * being caught by the test runner. Run as
 *   node --import tsx test/harness/workload.ts '<json WorkloadSpec>'
 * It prints "closed" once memory.close() has settled, and writes its ledger
 * (every acknowledged write) to spec.ledger.
 */

import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AgentmemError, createMemory, loadConfig } from '../../src/index.js';

export interface WorkloadSpec {
  /** Provider URLs in failover order (named p1, p2, …). */
  urls: string[];
  tenant: string;
  ack: 'async' | 'sync';
  replication: boolean;
  /** Writers: each owns one session and alternates addMessage and remember. 0: no writes (close tests). */
  writers: number;
  durationMs: number;
  ledger?: string;
  queryMs?: number;
  connectMs?: number;
  /** Close tests: make one call before close(), whose failure is expected. */
  touch?: boolean;
}

export interface LedgerEntry {
  kind: 'session' | 'message' | 'memory';
  id: string;
  sessionId?: string;
  writer: number;
  i: number;
  ackedAt: number;
}

export interface Ledger {
  acked: LedgerEntry[];
  /** Definite failures: nothing was written. */
  failed: number;
  /** OUTCOME_UNKNOWN answers (each retried with the same id). */
  unknownOutcome: number;
  /** NOT_DURABLE answers (each retried with the same id). */
  notDurable: number;
  /** Writes still unsettled after their retries: they may or may not exist. */
  unresolved: string[];
  errors: Record<string, number>;
}

const spec = JSON.parse(process.argv[2] ?? '{}') as WorkloadSpec;

async function main(): Promise<void> {
  const config = await loadConfig({
    cwd: mkdtempSync(join(tmpdir(), 'agentmem-workload-')),
    env: {},
    overrides: {
      providers: spec.urls.map((url, i) => ({
        name: `p${i + 1}`,
        url,
        pool: { max: 8 },
        timeouts: {
          connectMs: spec.connectMs ?? 1000,
          queryMs: spec.queryMs ?? 3000,
          statementMs: 5000,
          idleInTransactionMs: 5000,
        },
      })),
      replication: { enabled: spec.replication, intervalMs: 200, ack: spec.ack, batchSize: 1000 },
      router: { readMode: 'primary', probeIntervalMs: 250, failureThreshold: 3, graceMs: 2000, breakMs: 300 },
    },
  });
  const memory = await createMemory({ workers: false, config, tenant: spec.tenant });
  const ledger: Ledger = { acked: [], failed: 0, unknownOutcome: 0, notDurable: 0, unresolved: [], errors: {} };
  if (spec.touch) await memory.memories.remember({ type: 'log', content: 'touch' }).catch(() => undefined);

  const until = Date.now() + spec.durationMs;
  /** One write, retried with the same ids while its outcome is unknown or it is not yet durable. */
  async function settle(id: string, write: () => Promise<unknown>): Promise<boolean> {
    for (let attempt = 0; attempt < 8; attempt++) {
      try {
        await write();
        return true;
      } catch (error) {
        const code = error instanceof AgentmemError ? error.code : 'INTERNAL';
        ledger.errors[code] = (ledger.errors[code] ?? 0) + 1;
        if (code === 'OUTCOME_UNKNOWN') ledger.unknownOutcome++;
        else if (code === 'NOT_DURABLE') ledger.notDurable++;
        else if (attempt === 0) {
          ledger.failed++;
          return false;
        }
        await sleep(100 * (attempt + 1));
      }
    }
    ledger.unresolved.push(id);
    return false;
  }

  await Promise.all(
    Array.from({ length: spec.writers }, async (_, w) => {
      const sessionId = randomUUID();
      let created = false;
      while (!created && Date.now() < until) {
        created = await settle(sessionId, () => memory.sessions.create({ id: sessionId, agentId: `writer-${w}` }));
      }
      if (!created) return;
      ledger.acked.push({ kind: 'session', id: sessionId, writer: w, i: -1, ackedAt: Date.now() });
      for (let i = 0; Date.now() < until; i++) {
        const id = randomUUID();
        const ok =
          i % 2 === 0
            ? await settle(id, () => memory.sessions.addMessage(sessionId, { id, role: 'user', content: `w${w} m${i}` }))
            : await settle(id, () => memory.memories.remember({ id, type: 'log', content: { w, i } }));
        if (ok) ledger.acked.push({ kind: i % 2 === 0 ? 'message' : 'memory', id, sessionId, writer: w, i, ackedAt: Date.now() });
        else await sleep(20);
      }
    }),
  );
  await memory.close();
  if (spec.ledger) writeFileSync(spec.ledger, JSON.stringify(ledger));
  process.stdout.write('closed\n');
}

await main();
