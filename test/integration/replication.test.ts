import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_TIMEOUTS } from '../../src/config/index.js';
import { type AgentMemory, createMemory, loadConfig } from '../../src/index.js';
import { PgProvider, purgeTombstones, Replicator, runSync, syncStatus, verifyProviders } from '../../src/ops/index.js';
import { REPLICATED_TABLES } from '../../src/replication/index.js';
import { runCli } from '../harness/cli.js';
import { providerConfig } from '../harness/providers.js';
import { useCluster } from '../harness/router-cluster.js';

const cluster = useCluster(3, { migrate: true });
const opened: { close(): Promise<void> }[] = [];
const provider = (name: string) => {
  const p = new PgProvider(providerConfig(cluster.server(name), { name }));
  opened.push(p);
  return p;
};
/** A store that writes to one server only. */
async function storeOn(name: string, tenant: string): Promise<AgentMemory> {
  const config = await loadConfig({
    cwd: mkdtempSync(join(tmpdir(), 'agentmem-repl-')),
    env: {},
    overrides: { providers: [{ name, url: cluster.server(name).url() }] },
  });
  const memory = await createMemory({ workers: false, config, tenant });
  opened.push(memory);
  return memory;
}
const replicator = new Replicator({ schema: 'agentmem', batchSize: 50 });
const table = (name: string) => REPLICATED_TABLES.find((t) => t.name === name)!;

afterAll(async () => {
  for (const o of opened) await o.close().catch(() => undefined);
});

describe('replication (change capture and apply)', () => {
  it('never skips a transaction that commits after later ones', async () => {
    const p1 = provider('p1');
    const p2 = provider('p2');
    const store = await storeOn('p1', 'ooo');
    // Transaction A starts first and stays open while B commits.
    const holder = new pg.Client({ connectionString: cluster.server('p1').url() });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query(
        "INSERT INTO agentmem.memories (tenant_id, id, memory_type, content, version, origin) VALUES ('ooo', gen_random_uuid(), 'log', '\"A\"', 1, 'p1')",
      );
      const b = await store.memories.remember({ type: 'log', content: 'B' });
      const first = await replicator.syncTable(p1, p2, table('memories'));
      const onP2 = async () =>
        (await p2.query<{ content: string }>("SELECT content FROM agentmem.memories WHERE tenant_id = 'ooo' ORDER BY 1")).rows.map(
          (r) => r.content,
        );
      // B is committed but lies above A's still-running transaction: not read yet, and the watermark stays below A.
      expect(await onP2()).toEqual([]);
      expect(first.applied).toBe(0);
      await holder.query('COMMIT');
      const second = await replicator.syncTable(p1, p2, table('memories'));
      expect(second.applied).toBe(2);
      expect(await onP2()).toEqual(['A', 'B']);
      expect((await p2.query('SELECT id FROM agentmem.memories WHERE id = $1', [b])).rowCount).toBe(1);
    } finally {
      await holder.end();
    }
  });

  it('applies idempotently, carries tombstones, and keeps the exact version', async () => {
    const p1 = provider('p1');
    const p3 = provider('p3');
    const store = await storeOn('p1', 'tomb');
    const session = await store.sessions.create({ title: 'to replicate' });
    await store.sessions.save({
      session: { id: session.id },
      messages: [
        { role: 'user', content: 'hello 👋' },
        { role: 'assistant', content: 'hi' },
      ],
    });
    const gone = await store.memories.remember({ type: 'decision', content: { keep: false } });
    await store.memories.forget(gone);
    await replicator.sync(p1, p3);
    const again = await replicator.sync(p1, p3);
    expect(again.reduce((n, r) => n + r.applied, 0)).toBe(0);
    const read = (p: PgProvider) =>
      p.query<{ id: string; version: string; content: unknown; deleted: boolean }>(
        "SELECT id, version::text, content, deleted_at IS NOT NULL AS deleted FROM agentmem.memories WHERE tenant_id = 'tomb' ORDER BY id",
      );
    expect((await read(p3)).rows).toEqual((await read(p1)).rows);
    expect((await read(p3)).rows.find((r) => r.id === gone)?.deleted).toBe(true);
    // Replicated back to where it came from: nothing changes (same version, same origin).
    const back = await replicator.sync(p3, p1);
    expect(back.reduce((n, r) => n + r.applied, 0)).toBe(0);
  });

  it('a transcript replicated elsewhere continues there in order: the next append gets the next index and position', async () => {
    const [p1, p2] = [provider('p1'), provider('p2')];
    const on1 = await storeOn('p1', 'transcript');
    const session = await on1.sessions.create({});
    for (let i = 0; i < 5; i++) await on1.sessions.addMessage(session.id, { role: 'user', content: `on p1 ${i}` });
    await runSync([p1, p2], replicator);
    const on2 = await storeOn('p2', 'transcript');
    const next = await on2.sessions.addMessage(session.id, { role: 'assistant', content: 'on p2' });
    expect(next.seq).toBe(5);
    await on2.sessions.delete(session.id).catch(() => undefined);
    const again = await storeOn('p2', 'transcript');
    const other = await again.sessions.create({});
    await again.sessions.save({
      session: { id: other.id },
      messages: [
        { role: 'user', content: 'a' },
        { role: 'user', content: 'b' },
      ],
    });
    expect((await again.sessions.addMessage(other.id, { role: 'user', content: 'c' })).seq).toBe(2);
    expect((await again.sessions.getMessages(other.id)).map((m) => [m.seq, m.content])).toEqual([
      [0, 'a'],
      [1, 'b'],
      [2, 'c'],
    ]);
  });

  it('an append goes after every row its session has on the provider, replicated or removed ones too (the session keeps its last position)', async () => {
    const [p1, p2] = [provider('p1'), provider('p2')];
    const on1 = await storeOn('p1', 'ahead');
    const session = await on1.sessions.create({});
    for (let i = 0; i < 2; i++) await on1.sessions.addMessage(session.id, { role: 'user', content: `early ${i}` });
    // Rows far ahead of this process's clock, a message and a removed one, left on p1 by another process
    // (version 1: this process's clock never saw them, as when another process replicated them).
    const far = 2n ** 62n;
    await p1.query(
      `INSERT INTO agentmem.memories (tenant_id, id, session_id, memory_type, position, content, version, origin, deleted_at)
       VALUES ('ahead', gen_random_uuid(), $1, 'message_user', $2, '"far ahead"', 1, 'p1', NULL),
              ('ahead', gen_random_uuid(), $1, 'message_user', $3, '{}', 1, 'p1', now())`,
      [session.id, far.toString(), (far + 7n).toString()],
    );
    await runSync([p1, p2], replicator);
    const position = async (p: PgProvider, id: string) =>
      BigInt((await p.query<{ position: string }>('SELECT position::text FROM agentmem.memories WHERE id = $1', [id])).rows[0]!.position);
    for (const [name, p] of [
      ['p2', p2],
      ['p1', p1],
    ] as const) {
      const store = await storeOn(name, 'ahead');
      const next = await store.sessions.addMessage(session.id, { role: 'assistant', content: `next on ${name}` });
      expect(await position(p, next.id)).toBeGreaterThan(far + 7n);
      const messages = await store.sessions.getMessages(session.id);
      expect(messages.at(-1)).toEqual(next);
      expect(next.seq).toBe(messages.length - 1);
    }
    // Bookkeeping, not a change of the record: the history never holds it.
    const { rows } = await p1.query<{ n: string }>(
      `SELECT count(*) AS n FROM agentmem.change_history
        WHERE table_name = 'sessions' AND (new_row ? 'last_position' OR new_row ? 'message_count')`,
    );
    expect(rows[0]?.n).toBe('0');
  });

  it('a tool-using transcript, its external ids, a clear and a re-add replicate whole; the same external id on two providers is one row', async () => {
    const providers = [provider('p1'), provider('p2'), provider('p3')];
    const on1 = await storeOn('p1', 'rich');
    const on2 = await storeOn('p2', 'rich');
    const session = await on1.sessions.create({ externalId: 'thread-r' });
    const turn = [
      { role: 'developer' as const, content: 'be exact' },
      { role: 'user' as const, name: 'eve', externalId: 'm-1', content: [{ type: 'text', text: 'look this up' }] },
      {
        role: 'assistant' as const,
        content: '',
        externalId: 'm-2',
        toolCalls: [{ id: 'call_9', name: 'lookup', arguments: '{"q":"x"}' }],
        extra: { openai: { refusal: null } },
      },
      { role: 'tool' as const, toolCallId: 'call_9', name: 'lookup', externalId: 'm-3', content: 'found' },
    ];
    await on1.sessions.addMessages(session.id, turn);
    await runSync(providers, replicator);
    // Written again on p2 under the same external ids (a framework retrying elsewhere): the same rows, no copies.
    expect(await on2.sessions.addMessages(session.id, turn.slice(1))).toEqual({ inserted: 0, existing: 3 });
    expect((await on2.sessions.create({ externalId: 'thread-r' })).id).toBe(session.id);
    expect(await on2.sessions.load(session.id)).toEqual(await on1.sessions.load(session.id));
    // Cleared on p2, one message sent again on p1 after the clear arrived there: every provider agrees.
    expect(await on2.sessions.clearMessages(session.id)).toBe(4);
    await runSync(providers, replicator);
    await on1.sessions.addMessage(session.id, turn[1] as (typeof turn)[1]);
    await runSync(providers, replicator);
    const on3 = await storeOn('p3', 'rich');
    const everywhere = await Promise.all([on1, on2, on3].map((m) => m.sessions.getMessages(session.id)));
    expect(everywhere.map((ms) => ms.map((m) => m.externalId))).toEqual([['m-1'], ['m-1'], ['m-1']]);
    expect(everywhere[2]).toEqual(everywhere[0]);
    const report = await verifyProviders(providers, 'agentmem');
    expect(report.differences).toEqual([]);
    expect(report.equal).toBe(true);
  });

  it('concurrent updates of one setting on two providers converge to the same value', async () => {
    const p1 = provider('p1');
    const p2 = provider('p2');
    const a = await storeOn('p1', 'conv');
    const b = await storeOn('p2', 'conv');
    await a.settings.set('llm', 'model', 'from-p1');
    await b.settings.set('llm', 'model', 'from-p2'); // later HLC version in this process
    await replicator.sync(p1, p2);
    await replicator.sync(p2, p1);
    const value = async (p: PgProvider) =>
      (await p.query<{ value: unknown }>("SELECT value FROM agentmem.settings WHERE tenant_id = 'conv' AND key = 'model'")).rows[0]?.value;
    expect(await value(p1)).toBe('from-p2');
    expect(await value(p2)).toBe('from-p2');
    // And again the other way round.
    await a.settings.set('llm', 'model', 'from-p1-again');
    await replicator.sync(p2, p1);
    await replicator.sync(p1, p2);
    expect(await value(p1)).toBe('from-p1-again');
    expect(await value(p2)).toBe('from-p1-again');
  });

  it('a batch the target cannot apply within its statement timeout is applied in halves, and the link converges', async () => {
    const p1 = provider('p1');
    // A one-second statement timeout on the target, and a trigger there that makes each row of this tenant take 50 ms:
    // the 40-row batch (2 s) is cancelled whole, however fast the machine; a part of 10 rows or fewer fits easily.
    const p2 = new PgProvider(
      providerConfig(cluster.server('p2'), {
        timeouts: { ...DEFAULT_TIMEOUTS, statementMs: 1000 },
      }),
    );
    opened.push(p2);
    cluster.server('p2').psql(`
      CREATE FUNCTION public.slow_row() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.05); RETURN NEW; END $$;
      CREATE TRIGGER slow_row BEFORE INSERT ON agentmem.memories FOR EACH ROW WHEN (NEW.tenant_id = 'slow') EXECUTE FUNCTION public.slow_row();`);
    try {
      await replicator.syncTable(p1, p2, table('memories')); // earlier tests' rows: the next batch holds only these 40
      const store = await storeOn('p1', 'slow');
      for (let i = 0; i < 40; i++) await store.memories.remember({ type: 'log', content: `row ${i}` });
      const result = await replicator.syncTable(p1, p2, table('memories'));
      expect(result.applied).toBeGreaterThanOrEqual(40);
      expect((await p2.query("SELECT count(*)::int AS n FROM agentmem.memories WHERE tenant_id = 'slow'")).rows[0]).toEqual({ n: 40 });
      // The watermark moved with the last part: the next run finds nothing left to apply.
      expect(await replicator.watermark(p2, 'p1', 'memories')).toBe(result.position);
      expect((await replicator.syncTable(p1, p2, table('memories'))).applied).toBe(0);
    } finally {
      cluster.server('p2').psql('DROP TRIGGER slow_row ON agentmem.memories; DROP FUNCTION public.slow_row();');
    }
  });

  it('agentmem sync status, run, verify and repair bring three providers to equal checksums', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'agentmem-sync-'));
    writeFileSync(
      join(cwd, 'agentmem.config.json'),
      JSON.stringify({ providers: cluster.servers.map((s) => ({ name: s.name, url: s.url() })) }),
    );
    const cli = (...args: string[]) => runCli(args, { cwd });
    const a = await storeOn('p1', 'mesh');
    const b = await storeOn('p2', 'mesh');
    const session = await a.sessions.create({ title: 'on p1' });
    await a.sessions.addMessage(session.id, { role: 'user', content: 'written on p1' });
    await b.memories.remember({ type: 'issue', content: { text: 'written on p2' } });
    await b.atoms.upsert([{ atomId: 'sync:atom', atomType: 'concept', title: 'Replicated atom', content: 'travels to every provider' }]);

    const lagging = JSON.parse((await cli('sync', 'status', '--json')).stdout).links as {
      source: string;
      target: string;
      table: string;
      lagRows: number;
    }[];
    expect(lagging.some((l) => l.source === 'p2' && l.table === 'knowledge_atoms' && l.lagRows > 0)).toBe(true);
    expect((await cli('sync', 'verify')).code).toBe(1);

    const run = await cli('sync', 'run', '--json');
    expect(run.code).toBe(0);
    const verify = await cli('sync', 'verify', '--json');
    expect(verify.code).toBe(0);
    expect(JSON.parse(verify.stdout).equal).toBe(true);
    const caughtUp = JSON.parse((await cli('sync', 'status', '--json')).stdout).links as { lagRows: number }[];
    expect(caughtUp.every((l) => l.lagRows === 0)).toBe(true);
    for (const name of ['p1', 'p2', 'p3']) {
      expect(cluster.server(name).psql("SELECT title FROM agentmem.knowledge_atoms WHERE atom_id = 'sync:atom'").trim()).toBe(
        'Replicated atom',
      );
    }

    // Damage p3 behind replication's back: a lost row and a changed one.
    cluster.server('p3').psql(`DELETE FROM agentmem.knowledge_atoms WHERE atom_id = 'sync:atom';
      UPDATE agentmem.memories SET content = '"tampered"' WHERE tenant_id = 'mesh' AND memory_type = 'issue'`);
    const broken = await cli('sync', 'verify', '--json');
    expect(broken.code).toBe(1);
    const differences = JSON.parse(broken.stdout).differences as { table: string }[];
    expect([...new Set(differences.map((d) => d.table))].sort()).toEqual(['knowledge_atoms', 'memories']);
    const repair = await cli('sync', 'repair', '--json');
    expect(repair.code).toBe(0);
    expect(JSON.parse(repair.stdout).after.equal).toBe(true);
    expect(
      cluster.server('p3').psql("SELECT content FROM agentmem.memories WHERE tenant_id = 'mesh' AND memory_type = 'issue'").trim(),
    ).toBe('{"text": "written on p2"}');
  });

  it('lag in seconds counts from the change time; tombstones are purged only once every provider holds them', async () => {
    const [p1, p2, p3] = ['p1', 'p2', 'p3'].map(provider) as [PgProvider, PgProvider, PgProvider];
    const store = await storeOn('p1', 'purge');
    const everywhere = await store.memories.remember({ type: 'log', content: 'deleted everywhere' });
    const halfway = await store.memories.remember({ type: 'log', content: 'deleted on two of three' });
    await store.memories.forget(everywhere);
    await new Promise((r) => setTimeout(r, 1200));
    const lag = (await syncStatus([p1, p3], 'agentmem')).find((l) => l.source === 'p1' && l.target === 'p3' && l.table === 'memories');
    expect(lag?.lagRows).toBeGreaterThan(0);
    expect(lag?.lagSeconds).toBeGreaterThanOrEqual(1.2);
    await runSync([p1, p2, p3], replicator);
    expect((await syncStatus([p1, p3], 'agentmem')).every((l) => l.lagRows === 0 && l.lagSeconds === 0)).toBe(true);
    await store.memories.forget(halfway);
    await replicator.sync(p1, p2); // p3 has not seen this delete yet

    const count = (p: PgProvider) =>
      p
        .query<{ id: string }>("SELECT id FROM agentmem.memories WHERE tenant_id = 'purge' ORDER BY id")
        .then((r) => r.rows.map((x) => x.id));
    const results = await purgeTombstones([p1, p2, p3], 'agentmem', { olderThanMs: 0 });
    const memories = results.find((r) => r.table === 'memories');
    expect(memories?.kept).toBeGreaterThanOrEqual(1);
    for (const p of [p1, p2]) expect(await count(p)).toEqual([halfway]);
    expect(await count(p3)).toEqual([halfway]); // still live on p3, and never purged there

    // The CLI syncs first, so the last tombstone reaches p3 and then goes everywhere.
    const cwd = mkdtempSync(join(tmpdir(), 'agentmem-purge-'));
    writeFileSync(
      join(cwd, 'agentmem.config.json'),
      JSON.stringify({ providers: cluster.servers.map((s) => ({ name: s.name, url: s.url() })) }),
    );
    const young = await runCli(['sync', 'purge', '--json'], { cwd }); // default: only tombstones older than 7 days
    expect(young.code).toBe(0);
    expect(await count(p1)).toEqual([halfway]);
    const purge = await runCli(['sync', 'purge', '--older-than', '0s', '--json'], { cwd });
    expect(purge.code).toBe(0);
    expect(JSON.parse(purge.stdout).tables.find((t: { table: string }) => t.table === 'memories').purged).toBeGreaterThanOrEqual(1);
    for (const p of [p1, p2, p3]) expect(await count(p)).toEqual([]);
    expect((await runCli(['sync', 'verify'], { cwd })).code).toBe(0);
  });

  it('several replicators at once (as several app instances run) stay correct: every provider ends equal, nothing applied twice', async () => {
    const providers = ['p1', 'p2', 'p3'].map(provider);
    const stores = await Promise.all(['p1', 'p2', 'p3'].map((name) => storeOn(name, 'many')));
    let writing = true;
    const writers = stores.map(async (store, w) => {
      for (let i = 0; writing; i++) {
        await store.memories.remember({ type: 'log', content: { w, i } });
        if (i % 10 === 0) await store.settings.set('shared', 'counter', { w, i });
      }
    });
    // Three independent replicators (own instances, own connections' worth of work), three passes each, concurrently.
    const interrupted: string[] = [];
    const replicators = Array.from({ length: 3 }, async () => {
      const own = new Replicator({ schema: 'agentmem', batchSize: 100 });
      for (let pass = 0; pass < 3; pass++) {
        await runSync(providers, own, undefined, 1).catch((error: Error) => interrupted.push(error.message));
      }
    });
    await Promise.all(replicators);
    writing = false;
    await Promise.all(writers);
    await runSync(providers, replicator, undefined, 10);
    const report = await verifyProviders(providers, 'agentmem');
    // A pass may be interrupted (a deadlock between two replicators applying into one target): the next one carries on.
    console.log(`concurrent replicators: ${interrupted.length} interrupted pass(es)${interrupted.length ? `: ${interrupted[0]}` : ''}`);
    expect(report.equal).toBe(true);
    const counts = await Promise.all(
      providers.map(
        async (p) =>
          (await p.query<{ n: string }>("SELECT count(*)::text AS n FROM agentmem.memories WHERE tenant_id = 'many'")).rows[0]?.n,
      ),
    );
    expect(new Set(counts).size).toBe(1);
  });
});
