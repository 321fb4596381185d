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
