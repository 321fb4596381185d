import { expect } from 'vitest';
import { QueryError } from '../../src/index.js';
import type { Provider } from '../../src/ops/index.js';

type Seen = { t: string | null; a: string | null };
const SEE = "SELECT current_setting('agentmem.tenant_id', true) AS t, current_setting('agentmem.actor', true) AS a";

/**
 * Settings a connection keeps between single statements (the tenant, the actor)
 * reach exactly their own operation. Run on a provider with one connection, so
 * every call lands on the same server session.
 */
export async function expectSettingsStayWithTheirOperation(provider: Provider): Promise<void> {
  const single = async (settings: Record<string, string>, sql = SEE) =>
    (await provider.transaction((tx) => tx.query<Seen>(sql), { single: true, settings })).rows[0] as Seen;
  expect(await single({ 'agentmem.tenant_id': 'acme', 'agentmem.actor': 'ann' })).toEqual({ t: 'acme', a: 'ann' });
  // The same again: nothing to send but the statement, and it sees the same.
  expect(await single({ 'agentmem.tenant_id': 'acme', 'agentmem.actor': 'ann' })).toEqual({ t: 'acme', a: 'ann' });
  // Another tenant without an actor: the actor of the one before is blanked, not inherited.
  expect(await single({ 'agentmem.tenant_id': 'globex' })).toEqual({ t: 'globex', a: '' });
  // A switch whose statement fails is rolled back with it: the same switch must be sent again.
  await expect(single({ 'agentmem.tenant_id': 'acme' }, 'SELECT 1/0')).rejects.toBeInstanceOf(QueryError);
  expect(await single({ 'agentmem.tenant_id': 'acme' })).toEqual({ t: 'acme', a: '' });
  await expect(single({ 'agentmem.tenant_id': 'globex' }, 'SELECT 1/0')).rejects.toBeInstanceOf(QueryError);
  expect(await single({ 'agentmem.tenant_id': 'globex' })).toEqual({ t: 'globex', a: '' });
  // A transaction of several statements sees only its own settings (the carried tenant blanked) …
  const inTx = await provider.transaction((tx) => tx.query<Seen>(SEE), { settings: { 'agentmem.actor': 'bob' } });
  expect(inTx.rows[0]).toEqual({ t: '', a: 'bob' });
  expect(await single({ 'agentmem.tenant_id': 'acme' })).toEqual({ t: 'acme', a: '' });
  // A server setting has no blank value: it never stays on the connection.
  const WORK_MEM = "SELECT current_setting('work_mem') AS w, current_setting('agentmem.tenant_id', true) AS t";
  const workMem = async (settings: Record<string, string>) =>
    (await provider.transaction((tx) => tx.query<{ w: string; t: string }>(WORK_MEM), { single: true, settings })).rows[0];
  const usual = (await provider.query<{ w: string }>(WORK_MEM)).rows[0]?.w;
  expect(usual).not.toBe('7MB');
  expect(await workMem({ 'agentmem.tenant_id': 'acme', work_mem: '7MB' })).toEqual({ w: '7MB', t: 'acme' });
  expect(await workMem({ 'agentmem.tenant_id': 'acme' })).toEqual({ w: usual, t: 'acme' });
  // … and a query outside any operation runs as nobody.
  const plain = (await provider.query<Seen>(SEE)).rows[0] as Seen;
  expect(plain.t ?? '').toBe('');
  expect(plain.a ?? '').toBe('');
}
