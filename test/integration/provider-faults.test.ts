import { afterAll, describe, expect, it } from 'vitest';
import { ProviderTimeoutError, ProviderUnavailableError, QueryError } from '../../src/index.js';
import type { PgProvider } from '../../src/ops/index.js';
import { isConnectionFailure } from '../../src/providers/index.js';
import { expectSettingsStayWithTheirOperation } from '../harness/carried-settings.js';
import { FaultProxy } from '../harness/fault-proxy.js';
import { pgProvider } from '../harness/providers.js';
import { useCluster } from '../harness/router-cluster.js';
import { waitFor } from '../harness/wait.js';

const cluster = useCluster(3);
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

const FAST = { connectMs: 1000, queryMs: 1000, statementMs: 5000, idleInTransactionMs: 5000 };

function track<T extends { close(): Promise<void> } | { stop(): Promise<void> }>(thing: T): T {
  cleanups.push(() => ('close' in thing ? thing.close() : thing.stop()));
  return thing;
}

/** Settles with the outcome, or rejects if the call is still pending long after every timeout (a hang). */
async function outcome<T>(promise: Promise<T>, guardMs = 15_000): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`call still pending after ${guardMs} ms: it hung`)), guardMs);
  });
  try {
    return await Promise.race([promise.then((value) => ({ ok: true as const, value })), guard]);
  } catch (error) {
    if ((error as Error).message.includes('it hung')) throw error;
    return { ok: false, error };
  } finally {
    clearTimeout(timer);
  }
}

/** Fill the pool with `n` open, idle connections. */
async function warm(provider: PgProvider, n: number): Promise<void> {
  await Promise.all(Array.from({ length: n }, () => provider.query('SELECT pg_sleep(0.05)')));
  expect(provider.poolStats().idle).toBe(n);
}

describe('provider under real faults', () => {
  it('a SIGSTOPped server makes queries fail with a timeout instead of hanging, on pooled and new connections', async () => {
    const server = cluster.servers[0]!;
    const provider = track(pgProvider(server, { timeouts: FAST, pool: { max: 4, idleTimeoutMs: 60_000 } }));
    await warm(provider, 2);
    server.pause();
    try {
      const onPooled = await outcome(provider.query('SELECT 1'));
      expect(onPooled.ok).toBe(false);
      if (!onPooled.ok) {
        expect(onPooled.error).toBeInstanceOf(ProviderTimeoutError);
        expect(isConnectionFailure(onPooled.error)).toBe(true);
      }
      // Every pooled connection is used up by now or destroyed; fresh connects also time out.
      const results = await Promise.all([1, 2, 3, 4, 5].map(() => outcome(provider.query('SELECT 1'))));
      for (const r of results) {
        expect(r.ok).toBe(false);
        if (!r.ok) expect(r.error).toBeInstanceOf(ProviderTimeoutError);
      }
      const tx = await outcome(provider.transaction((t) => t.query('SELECT 1')));
      expect(tx.ok).toBe(false);
    } finally {
      server.resume();
    }
    const after = await outcome(provider.query<{ one: number }>('SELECT 1 AS one'));
    expect(after).toEqual({ ok: true, value: { rows: [{ one: 1 }], rowCount: 1 } });
  });

  it('does not crash when the server is SIGKILLed under idle pooled connections, and recovers after restart', async () => {
    const server = cluster.servers[1]!;
    const provider = track(pgProvider(server, { timeouts: FAST, pool: { max: 5, idleTimeoutMs: 60_000 } }));
    await warm(provider, 5);
    await server.kill();
    // The pool sees every idle socket close; without an 'error' listener this would kill the process.
    await waitFor(() => provider.poolStats().idle === 0, 20_000);
    expect(provider.poolStats().idle).toBe(0);
    const down = await outcome(provider.query('SELECT 1'));
    expect(down.ok).toBe(false);
    if (!down.ok) expect(down.error).toBeInstanceOf(ProviderUnavailableError);
    await server.start();
    const up = await outcome(provider.query<{ n: number }>('SELECT 2 AS n'));
    expect(up).toMatchObject({ ok: true, value: { rows: [{ n: 2 }] } });
  });

  it('survives pg_terminate_backend of its pooled connections', async () => {
    const server = cluster.servers[2]!;
    const provider = track(pgProvider(server, { timeouts: FAST, pool: { max: 3, idleTimeoutMs: 60_000 } }));
    await warm(provider, 3);
    server.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'agentmem'");
    await new Promise((r) => setTimeout(r, 300));
    const again = await outcome(provider.query<{ n: number }>('SELECT 3 AS n'));
    expect(again).toMatchObject({ ok: true, value: { rows: [{ n: 3 }] } });
    // A connection terminated mid-query is a connection failure (57P01), not an SQL error.
    const killer = setTimeout(() => {
      server.psql(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'agentmem' AND query LIKE '%pg_sleep(3)%'",
      );
    }, 300);
    const mid = await outcome(provider.query('SELECT pg_sleep(3)'));
    clearTimeout(killer);
    expect(mid.ok).toBe(false);
    if (!mid.ok) {
      expect(isConnectionFailure(mid.error)).toBe(true);
    }
  });

  it('a black-holed network path times out; refused and reset paths fail fast as unavailable', async () => {
    const server = cluster.servers[0]!;
    const proxy = track(await FaultProxy.start(server.port));
    const provider = track(pgProvider(server, { url: server.url({ port: proxy.port }), timeouts: FAST }));
    expect((await provider.query<{ n: number }>('SELECT 1 AS n')).rows).toEqual([{ n: 1 }]);

    await proxy.setMode({ kind: 'blackhole' });
    const holed = await outcome(provider.query('SELECT 1'));
    expect(holed.ok).toBe(false);
    if (!holed.ok) expect(holed.error).toBeInstanceOf(ProviderTimeoutError);

    await proxy.setMode({ kind: 'refuse' });
    const refused = await outcome(provider.query('SELECT 1'));
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(refused.error).toBeInstanceOf(ProviderUnavailableError);

    await proxy.setMode({ kind: 'reset' });
    const reset = await outcome(provider.query('SELECT 1'));
    expect(reset.ok).toBe(false);
    if (!reset.ok) expect(isConnectionFailure(reset.error)).toBe(true);

    await proxy.setMode({ kind: 'latency', ms: 50, jitterMs: 10 });
    expect((await provider.query<{ n: number }>('SELECT 4 AS n')).rows).toEqual([{ n: 4 }]);
  });

  it('SQL errors are QueryErrors, never connection failures', async () => {
    const provider = track(pgProvider(cluster.servers[0]!, { timeouts: FAST }));
    await provider.query('CREATE TABLE uniq (id int PRIMARY KEY)');
    await provider.query('INSERT INTO uniq VALUES (1)');
    for (const sql of ['INSERT INTO uniq VALUES (1)', 'SELEC 1', 'SELECT * FROM missing_table']) {
      const result = await outcome(provider.query(sql));
      expect(result.ok).toBe(false);
      if (!result.ok) {
        expect(result.error).toBeInstanceOf(QueryError);
        expect(isConnectionFailure(result.error)).toBe(false);
      }
    }
    // The server-side timeouts (and JIT off) are set for every transaction, not the session (a pooler may hand the session to others).
    const inside = await provider.transaction((tx) =>
      tx.query<{ s: string; i: string; j: string }>(
        "SELECT current_setting('statement_timeout') AS s, current_setting('idle_in_transaction_session_timeout') AS i, current_setting('jit') AS j",
      ),
    );
    expect(inside.rows[0]).toEqual({ s: '5s', i: '5s', j: 'off' });
    const single = await provider.transaction((tx) => tx.query<{ s: string }>("SELECT current_setting('statement_timeout') AS s"), {
      single: true,
    });
    expect(single.rows[0]?.s).toBe('5s');
    const { rows } = await provider.query<{ statement_timeout: string; jit: string }>(
      "SELECT current_setting('statement_timeout') AS statement_timeout, current_setting('jit') AS jit",
    );
    expect(rows[0]).toEqual({ statement_timeout: '0', jit: 'on' });
  });

  it("a direct connection keeps an operation's settings between single statements, never lets them reach another operation", async () => {
    // One connection, so every call below lands on the same server session.
    const provider = track(pgProvider(cluster.servers[1]!, { timeouts: FAST, pool: { max: 1, idleTimeoutMs: 60_000 } }));
    const TIMEOUT = "SELECT current_setting('statement_timeout') AS s, current_setting('jit') AS j, pg_backend_pid() AS pid";
    const inOperation = async (single: boolean) =>
      (
        await provider.transaction((tx) => tx.query<{ s: string; j: string; pid: number }>(TIMEOUT), {
          single,
          settings: { 'agentmem.tenant_id': 'acme' },
        })
      ).rows[0];
    const first = await inOperation(true);
    expect(first).toMatchObject({ s: '5s', j: 'off' });
    await expectSettingsStayWithTheirOperation(provider);
    expect(await inOperation(true)).toEqual({ s: '5s', j: 'off', pid: first?.pid });
    expect(await inOperation(false)).toEqual({ s: '5s', j: 'off', pid: first?.pid });
    // A query outside any operation runs without the operations' statement_timeout (and with the server's JIT), on the same session.
    expect((await provider.query<{ s: string; pid: number }>(TIMEOUT)).rows[0]).toEqual({ s: '0', j: 'on', pid: first?.pid });
    // A statement marked `prepare` is prepared once on this session and executed by name after
    // (with or without a settings change sent along); an unmarked one is not prepared.
    const PREPARED = 'SELECT $1::int * 2 AS n, pg_backend_pid() AS pid';
    for (const [i, tenant] of ['acme', 'acme', 'globex', 'globex'].entries()) {
      const { rows } = await provider.transaction((tx) => tx.query<{ n: number; pid: number }>(PREPARED, [i], { prepare: true }), {
        single: true,
        settings: { 'agentmem.tenant_id': tenant },
      });
      expect(rows[0]).toEqual({ n: i * 2, pid: first?.pid });
    }
    await provider.transaction((tx) => tx.query('SELECT $1::int * 3 AS n', [1]), { single: true });
    const statements = await provider.query<{ statement: string; n: number }>(
      'SELECT statement, count(*)::int AS n FROM pg_prepared_statements GROUP BY statement',
    );
    expect(statements.rows).toEqual([{ statement: PREPARED, n: 1 }]);
  });
});
