import type { Queryable } from './types.js';

/** BEGIN … COMMIT on one connection; ROLLBACK (best effort) when fn throws. */
export async function inTransaction<T>(connection: Queryable, fn: (tx: Queryable) => Promise<T>): Promise<T> {
  await connection.query('BEGIN');
  try {
    const result = await fn(connection);
    await connection.query('COMMIT');
    return result;
  } catch (error) {
    await connection.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/**
 * Bring a connection's session settings up to date with one statement, or
 * none when it already has them. `applied` is what this connection was given
 * before (owned by the caller, one per connection).
 */
export async function applySessionSettings(
  connection: Queryable,
  wanted: Readonly<Record<string, string>> | undefined,
  applied: Map<string, string>,
): Promise<void> {
  if (!wanted) return;
  const changes = Object.entries(wanted).filter(([key, value]) => applied.get(key) !== value);
  if (!changes.length) return;
  const calls = changes.map((_, i) => `set_config($${2 * i + 1}, $${2 * i + 2}, false)`).join(', ');
  await connection.query(`SELECT ${calls}`, changes.flat());
  for (const [key, value] of changes) applied.set(key, value);
}
