/**
 * Overhead of a PgProvider query against a raw pg Pool doing the same query on
 * the same server, in the same run. Prints JSON.
 */
import pg from 'pg';
import { startCluster } from '../test/harness/postgres.js';
import { pgProvider } from '../test/harness/providers.js';
import { alternate, LIBRARY } from './stats.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3000);
const cluster = await startCluster(1);
const server = cluster.servers[0]!;
try {
  const raw = new pg.Pool({ connectionString: server.url(), max: 1 });
  const provider = pgProvider(server, { pool: { max: 1, idleTimeoutMs: 10_000 } });
  const sql = 'SELECT $1::int AS n';
  // Warm both pools and the server's plan cache.
  for (let i = 0; i < 200; i++) {
    await raw.query(sql, [i]);
    await provider.query(sql, [i]);
  }
  // Alternating rounds: neither side gets the warmer cache or the quieter machine.
  const result = await alternate(
    ROUNDS / 10,
    (i) => raw.query(sql, [i]),
    (i) => provider.query(sql, [i]),
    10,
  );
  console.log(
    JSON.stringify(
      {
        bench: 'provider-query-overhead',
        library: LIBRARY,
        ...result,
        overhead_p50_ms: Number((result.agentmem.ms.p50 - result.baseline.ms.p50).toFixed(4)),
      },
      null,
      2,
    ),
  );
  await raw.end();
  await provider.close();
} finally {
  await cluster.stop();
}
