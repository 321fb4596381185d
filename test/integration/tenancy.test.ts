import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentMemory, createMemory, loadConfig } from '../../src/index.js';
import { createAppRole } from '../harness/postgres.js';
import { useCluster } from '../harness/router-cluster.js';

/**
 * Tenants are isolated by row-level security in the database, not only by the
 * WHERE clauses of the library: the application role, writing hand-made SQL,
 * still sees only the tenant its session names.
 */
const cluster = useCluster(1);
let owner: AgentMemory;
let app: AgentMemory;
beforeAll(async () => {
  const server = cluster.servers[0]!;
  const cwd = mkdtempSync(join(tmpdir(), 'agentmem-rls-'));
  owner = await createMemory({
    workers: false,
    config: await loadConfig({ cwd, env: {}, overrides: { providers: [{ name: 'main', url: server.url() }] } }),
    migrate: true,
    tenant: 'acme',
  });
  await owner.settings.list();
  // The application's role: may read and write the tables, owns none of them.
  createAppRole(server);
  app = await createMemory({
    workers: false,
    config: await loadConfig({ cwd, env: {}, overrides: { providers: [{ name: 'main', url: server.url({ user: 'agentmem_app' }) }] } }),
    tenant: 'acme',
  });
});
afterAll(async () => {
  await owner?.close();
  await app?.close();
});

describe('tenant isolation', () => {
  it('the library scopes every call to its tenant', async () => {
    const globex = owner.forTenant('globex');
    const theirs = await globex.sessions.create({ title: 'globex secret' });
    await globex.memories.remember({ type: 'decision', content: 'globex plan' });
    await globex.settings.set('secret', 'key', 'globex value');
    const ours = await owner.sessions.create({ title: 'acme session' });
    expect(await owner.sessions.get(theirs.id)).toBeNull();
    expect((await owner.sessions.list()).map((s) => s.id)).toEqual([ours.id]);
    expect(await owner.memories.recall({ text: 'plan' })).toEqual([]);
    expect(await owner.settings.get('secret', 'key')).toBeUndefined();
    await expect(owner.sessions.addMessage(theirs.id, { role: 'user', content: 'x' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('row-level security hides other tenants from hand-written SQL through the app role', async () => {
    const server = cluster.servers[0]!;
    await app.memories.remember({ type: 'log', content: 'acme via app role' });
    const client = new pg.Client({ connectionString: server.url({ user: 'agentmem_app' }) });
    await client.connect();
    try {
      const everything =
        'SELECT DISTINCT tenant_id FROM agentmem.sessions UNION SELECT DISTINCT tenant_id FROM agentmem.memories UNION SELECT DISTINCT tenant_id FROM agentmem.settings';
      // No tenant named: nothing is visible at all.
      expect((await client.query(everything)).rows).toEqual([]);
      await client.query("SELECT set_config('agentmem.tenant_id', 'acme', false)");
      expect((await client.query(everything)).rows).toEqual([{ tenant_id: 'acme' }]);
      // Asking for another tenant by name does not help.
      expect((await client.query("SELECT * FROM agentmem.memories WHERE tenant_id = 'globex'")).rows).toEqual([]);
      // Nor does writing into it: the policy checks new rows too.
      await expect(
        client.query(
          "INSERT INTO agentmem.settings (tenant_id, category, key, id, value, version, origin) VALUES ('globex', 'x', 'y', $1, '1', 1, 'evil')",
          [randomUUID()],
        ),
      ).rejects.toThrow(/row-level security/);
      await client.query("SELECT set_config('agentmem.tenant_id', 'globex', false)");
      expect((await client.query('SELECT title FROM agentmem.sessions')).rows).toEqual([{ title: 'globex secret' }]);
    } finally {
      await client.end();
    }
  });

  it('tenants taking turns on one connection each see only their own rows', async () => {
    // A direct connection keeps the tenant between single statements: one connection shared by
    // two tenants, alternating, must still never show one the other's rows.
    const server = cluster.servers[0]!;
    const config = await loadConfig({
      cwd: mkdtempSync(join(tmpdir(), 'agentmem-rls-one-')),
      env: {},
      overrides: { providers: [{ name: 'main', url: server.url({ user: 'agentmem_app' }), pool: { max: 1 } }] },
    });
    const one = await createMemory({ workers: false, config, tenant: 'turns-a' });
    try {
      const b = one.forTenant('turns-b');
      for (let i = 0; i < 3; i++) {
        await one.memories.remember({ type: 'log', content: `a ${i}` });
        await b.memories.remember({ type: 'log', content: `b ${i}` });
      }
      const contents = async (m: AgentMemory) => (await m.memories.recall({ types: ['log'] })).map((x) => x.content).sort();
      expect(await contents(one)).toEqual(['a 0', 'a 1', 'a 2']);
      expect(await contents(b)).toEqual(['b 0', 'b 1', 'b 2']);
      expect(await contents(one)).toEqual(['a 0', 'a 1', 'a 2']);
    } finally {
      await one.close();
    }
  });

  it('the library through the app role sees only its tenant', async () => {
    const globexViaApp = app.forTenant('globex');
    expect((await globexViaApp.sessions.list()).map((s) => s.title)).toEqual(['globex secret']);
    expect((await app.sessions.list()).map((s) => s.title)).toEqual(['acme session']);
  });
});
