/**
 * A COPY session on a client of its own, outside the pool: COPY streams
 * cannot go through the pool's pipelined connections. Bounded by a stall
 * watch (no data moving for `stallMs`) instead of a query timeout, which a
 * long COPY would exceed.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import type { Timeouts } from '../config/index.js';
import { beginStatement, stallWatch } from './bulk.js';
import { toConnectError, toProviderError } from './classify.js';
import { runQuery } from './pg-connection.js';
import { boundedWait } from './timing.js';
import { inTransaction } from './transaction.js';
import type { BulkOptions, BulkSession } from './types.js';

export async function runBulk<T>(
  name: string,
  client: pg.Client,
  timeouts: Timeouts,
  hintFor: (error: unknown) => string | undefined,
  fn: (session: BulkSession) => Promise<T>,
  options: BulkOptions = {},
): Promise<T> {
  const stallMs = options.stallMs ?? 60_000;
  let lost: Error | undefined;
  client.on('error', (error) => {
    lost = error;
  });
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw toConnectError(name, error, timeouts.connectMs, hintFor(error));
  }
  const fail = (error: unknown) => toProviderError(name, lost ?? error, stallMs);
  const session: BulkSession = {
    query: (sql, params, queryOptions) => runQuery(name, client, sql, params, queryOptions?.timeoutMs ?? stallMs, undefined),
    exec: async (sql, queryOptions) => {
      await runQuery(name, client, sql, undefined, queryOptions?.timeoutMs ?? stallMs, undefined);
    },
    copyOut: (source) => {
      return (async function* () {
        const stream = client.query(copyTo(`COPY ${source} TO STDOUT`));
        const watch = stallWatch(stallMs, () => stream.destroy(new Error(`timeout: no data from ${name} for ${stallMs} ms`)));
        try {
          for await (const chunk of stream) {
            watch.touch();
            yield chunk as Uint8Array;
          }
        } catch (error) {
          throw fail(error);
        } finally {
          watch.stop();
        }
      })();
    },
    copyIn: async (target, chunks) => {
      const stream = client.query(copyFrom(`COPY ${target} FROM STDIN`));
      const watch = stallWatch(stallMs, () => stream.destroy(new Error(`timeout: ${name} took no data for ${stallMs} ms`)));
      const fed = (async function* () {
        for await (const chunk of chunks) {
          watch.touch();
          yield chunk;
        }
      })();
      try {
        await pipeline(Readable.from(fed), stream);
        return stream.rowCount;
      } catch (error) {
        throw fail(error);
      } finally {
        watch.stop();
      }
    },
  };
  try {
    return await inTransaction(session, fn, async () => {
      await session.query(beginStatement(options));
      if (options.snapshot) {
        if (!/^[0-9A-F]+-[0-9A-F]+-[0-9]+$/i.test(options.snapshot)) throw new Error(`not a snapshot id: ${options.snapshot}`);
        await session.query(`SET TRANSACTION SNAPSHOT '${options.snapshot}'`);
      }
      // No server-side bound for a long COPY: the stall watch and the per-query client timeout bound it.
      await session.query(
        "SELECT set_config('statement_timeout', '0', true), set_config('idle_in_transaction_session_timeout', $1, true)",
        [String(Math.max(stallMs, 600_000))],
      );
    });
  } finally {
    await boundedWait(
      client.end().catch(() => undefined),
      timeouts.connectMs,
    );
  }
}
