import type { Queryable } from './types.js';

/**
 * BEGIN … COMMIT on one connection; ROLLBACK (best effort) when anything fails —
 * also the start (`begin`, which may send BEGIN together with the transaction's
 * settings), so a connection never goes back to its pool inside a transaction.
 */
export async function inTransaction<T, Q extends Queryable = Queryable>(
  connection: Q,
  fn: (tx: Q) => Promise<T>,
  begin: () => Promise<unknown> = () => connection.query('BEGIN'),
): Promise<T> {
  try {
    await begin();
    const result = await fn(connection);
    await connection.query('COMMIT');
    return result;
  } catch (error) {
    await connection.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/**
 * One statement that sets every setting for the current transaction only
 * (`set_config(name, value, true)`), or for the session once the transaction
 * commits (`session`); undefined when there is none.
 */
export function settingsStatement(
  settings: Readonly<Record<string, string>>,
  scope: 'transaction' | 'session' = 'transaction',
): { sql: string; params: string[] } | undefined {
  const entries = Object.entries(settings);
  if (!entries.length) return undefined;
  return {
    sql: `SELECT ${entries.map((_, i) => `set_config($${2 * i + 1}, $${2 * i + 2}, ${scope === 'transaction'})`).join(', ')}`,
    params: entries.flat(),
  };
}

/**
 * BEGIN and the transaction's settings as one simple-protocol message (one
 * write, one parse, no bind): values are dollar-quoted with a tag that does
 * not occur in them, so no value can end its quote, whatever the server's
 * string settings. With `session` scope the settings outlive the transaction
 * once it commits (and vanish with it if it aborts).
 */
export function beginWithSettings(settings: Readonly<Record<string, string>>, scope: 'transaction' | 'session' = 'transaction'): string {
  const entries = Object.entries(settings);
  if (!entries.length) return 'BEGIN';
  const local = scope === 'transaction';
  const quote = (value: string) => {
    let tag = 'v';
    while (value.includes(`$${tag}$`)) tag += 'v';
    return `$${tag}$${value}$${tag}$`;
  };
  return `BEGIN; SELECT ${entries.map(([name, value]) => `set_config(${quote(name)}, ${quote(value)}, ${local})`).join(', ')}`;
}

/**
 * What an operation needs on a connection that carries settings at session
 * level: its own settings, and '' for every other one the connection carries,
 * so no tenant or actor of an earlier operation reaches this one.
 */
export function wantedSettings(
  settings: Readonly<Record<string, string>>,
  carried: ReadonlyMap<string, string> | undefined,
): Map<string, string> {
  const wanted = new Map(Object.entries(settings));
  for (const name of carried?.keys() ?? []) if (!wanted.has(name)) wanted.set(name, '');
  return wanted;
}

/** The settings among `wanted` that the connection does not carry with that value. */
export function settingsToSend(
  wanted: ReadonlyMap<string, string>,
  carried: ReadonlyMap<string, string> | undefined,
): Record<string, string> {
  return Object.fromEntries([...wanted].filter(([name, value]) => carried?.get(name) !== value));
}

/**
 * The server settings every PgProvider operation sets (so a connection never
 * needs them blanked): its server-side timeouts, and JIT off — an operation's
 * statements take milliseconds, but over a big table the planner's estimate
 * passes jit_above_cost, and compiling costs more than running (30–400 ms
 * measured on a 10 ms vector search at a million atoms).
 */
export function operationServerSettings(timeouts: { statementMs: number; idleInTransactionMs: number }): Record<string, string> {
  return {
    statement_timeout: String(timeouts.statementMs),
    idle_in_transaction_session_timeout: String(timeouts.idleInTransactionMs),
    jit: 'off',
  };
}

const ALWAYS_SET = new Set(Object.keys(operationServerSettings({ statementMs: 0, idleInTransactionMs: 0 })));

/**
 * May these settings stay on a connection after their operation? Only
 * agentmem's own (`agentmem.tenant_id`, `agentmem.actor`: placeholders a later
 * operation can blank with '') and those every operation sets anyway. A server
 * or extension setting (`work_mem`, `hnsw.ef_search`) has no blank value, so
 * it stays per transaction.
 */
export function carriable(settings: ReadonlyMap<string, string>): boolean {
  for (const name of settings.keys()) if (!name.startsWith('agentmem.') && !ALWAYS_SET.has(name)) return false;
  return true;
}
