import type { Provider, Queryable } from '../providers/index.js';
import { table as registryTable, requireAllTenants } from '../schema/index.js';
import type { ChangeRow, Replicator } from './replicator.js';
import { REPLICATED_TABLES, type ReplicatedTable } from './tables.js';

export const BUCKETS = 64;

export interface BucketDiff {
  table: string;
  bucket: number;
  /** provider → "count:checksum" (absent: the bucket is empty there). */
  providers: Record<string, string | null>;
}

export interface VerifyReport {
  providers: string[];
  tables: { table: string; buckets: number; differing: number }[];
  differences: BucketDiff[];
  equal: boolean;
}

/** Which bucket a row falls in; the same expression on every provider. */
function bucketExpression(table: ReplicatedTable): string {
  return `(abs(hashtextextended(${table.key.map((k) => `${k}::text`).join(` || '\\u0001' || `)}, 0)) % ${BUCKETS})::int`;
}

/**
 * The row as it must be equal everywhere: the replicated columns in canonical
 * jsonb text (local bookkeeping and generated columns left out, as the table registry says).
 */
function rowText(table: ReplicatedTable): string {
  return `${table.rowJson('t')}::text`;
}

/** Checksums read a whole table: give them minutes, not the per-call query timeout. */
const VERIFY_TIMEOUT_MS = 10 * 60_000;

async function checksums(provider: Provider, schema: string, table: ReplicatedTable): Promise<Map<number, string>> {
  return provider.transaction(async (tx) => {
    await tx.query("SELECT set_config('statement_timeout', $1, true)", [String(VERIFY_TIMEOUT_MS)]);
    return bucketChecksums(tx, schema, table);
  });
}

/**
 * The row as one text for checksums: the replicated columns, in the registry's
 * order, as a row value (cheaper than jsonb by a factor of three; the
 * settings that shape its text are fixed in bucketChecksums).
 */
function rowValueText(table: ReplicatedTable): string {
  const types = new Map(registryTable(table.name).columns.map((c) => [c.name, c.type]));
  // JSON null and SQL NULL are one value to agentmem (replication moves rows as JSON, which cannot tell them apart).
  const value = (c: string) => (types.get(c) === 'jsonb' ? `nullif(t.${c}, 'null'::jsonb)` : `t.${c}`);
  return `ROW(${table.columns.map(value).join(', ')})::text`;
}

/**
 * Per bucket, "count:sum" of the table's rows (one tenant's, or all) — the sum
 * of a 64-bit hash of each row, so no sort is needed — inside the caller's
 * transaction: `sync verify` compares them between providers, and a backup
 * records them from its snapshot for a restore test to compare with.
 */
export async function bucketChecksums(
  db: Queryable,
  schema: string,
  table: ReplicatedTable,
  tenant?: string,
): Promise<Map<number, string>> {
  // A value's text must not depend on a server's or session's settings: time zone, date and interval style, float digits.
  await db.query(
    "SELECT set_config('TimeZone', 'UTC', true), set_config('DateStyle', 'ISO, MDY', true), set_config('IntervalStyle', 'postgres', true), set_config('extra_float_digits', '1', true)",
  );
  const { rows } = await db.query<{ bucket: number; n: string; sum: string }>(
    `SELECT ${bucketExpression(table)} AS bucket, count(*)::text AS n, sum(hashtextextended(${rowValueText(table)}, 0))::text AS sum
       FROM ${schema}.${table.name} t ${tenant === undefined ? '' : 'WHERE tenant_id = $1'} GROUP BY 1`,
    tenant === undefined ? undefined : [tenant],
    { timeoutMs: VERIFY_TIMEOUT_MS },
  );
  return new Map(rows.map((r) => [Number(r.bucket), `${r.n}:${r.sum}`]));
}

/** Each provider's direct connection, once it is known to see every tenant. */
export async function allTenantConnections(providers: Provider[], schema: string): Promise<Provider[]> {
  const direct = providers.map((p) => p.direct());
  for (const provider of direct) await requireAllTenants(provider, schema);
  return direct;
}

/** Compare every replicated table between providers, bucket by bucket. */
export async function verifyProviders(
  providers: Provider[],
  schema: string,
  onProgress?: (done: number, total: number, step: string) => void,
): Promise<VerifyReport> {
  const report: VerifyReport = { providers: providers.map((p) => p.name), tables: [], differences: [], equal: true };
  // Every tenant, through each provider's direct connection: rows hidden by row-level security must never count as equal.
  const direct = await allTenantConnections(providers, schema);
  let done = 0;
  for (const table of REPLICATED_TABLES) {
    const total = REPLICATED_TABLES.length * providers.length;
    const sums = await Promise.all(
      direct.map(async (p) => {
        const sum = await checksums(p, schema, table);
        onProgress?.(++done, total, `${table.name} on ${p.name}`);
        return sum;
      }),
    );
    let differing = 0;
    for (let bucket = 0; bucket < BUCKETS; bucket++) {
      const values = sums.map((s) => s.get(bucket) ?? null);
      if (values.every((v) => v === values[0])) continue;
      differing++;
      report.differences.push({
        table: table.name,
        bucket,
        providers: Object.fromEntries(providers.map((p, i) => [p.name, values[i] ?? null])),
      });
    }
    report.tables.push({ table: table.name, buckets: BUCKETS, differing });
  }
  report.equal = report.differences.length === 0;
  return report;
}

/**
 * Make differing buckets equal. For each row key the winner is the highest
 * (version, origin), as in replication; where copies share a version but differ
 * (damage behind replication's back) the copy most providers hold wins, ties
 * broken by checksum. The winner is written to every provider that differs.
 */
export async function repairProviders(
  providers: Provider[],
  schema: string,
  replicator: Replicator,
  diffs: BucketDiff[],
  onProgress?: (done: number, total: number, step: string) => void,
): Promise<number> {
  let applied = 0;
  const direct = await allTenantConnections(providers, schema);
  for (const [index, diff] of diffs.entries()) {
    const table = REPLICATED_TABLES.find((t) => t.name === diff.table) as ReplicatedTable;
    const keyText = table.key.map((k) => `${k}::text`).join(` || '\u0001' || `);
    const copies = new Map<string, Map<string, { row: ChangeRow; sum: string; origin: string }>>(); // key → provider → copy
    for (const provider of direct) {
      const rows = await provider.transaction(async (db) => {
        await db.query("SELECT set_config('TimeZone', 'UTC', true), set_config('statement_timeout', $1, true)", [
          String(VERIFY_TIMEOUT_MS),
        ]);
        return (
          await db.query<{ key: string; json: string; version: string; origin: string; sum: string }>(
            `SELECT ${keyText} AS key, ${rowText(table)} AS json, t.version::text AS version, t.origin,
                    md5(${rowText(table)}) AS sum
               FROM ${schema}.${table.name} t WHERE ${bucketExpression(table)} = $1`,
            [diff.bucket],
            { timeoutMs: VERIFY_TIMEOUT_MS },
          )
        ).rows;
      });
      for (const r of rows) {
        const byProvider = copies.get(r.key) ?? new Map();
        byProvider.set(provider.name, { row: { json: r.json, version: r.version }, sum: r.sum, origin: r.origin });
        copies.set(r.key, byProvider);
      }
    }
    const writes = new Map<string, ChangeRow[]>(); // provider → rows to force
    for (const byProvider of copies.values()) {
      const all = [...byProvider.values()];
      const newest = all.reduce((best, c) => {
        const v = BigInt(c.row.version);
        const b = BigInt(best.row.version);
        return v > b || (v === b && c.origin > best.origin) ? c : best;
      });
      const contenders = all.filter((c) => c.row.version === newest.row.version && c.origin === newest.origin);
      const votes = new Map<string, number>();
      for (const c of contenders) votes.set(c.sum, (votes.get(c.sum) ?? 0) + 1);
      const [winningSum] = [...votes.entries()].sort((x, y) => y[1] - x[1] || (y[0] > x[0] ? 1 : -1))[0] as [string, number];
      const winner = contenders.find((c) => c.sum === winningSum) as (typeof contenders)[number];
      for (const provider of providers) {
        if (byProvider.get(provider.name)?.sum === winner.sum) continue;
        writes.set(provider.name, [...(writes.get(provider.name) ?? []), winner.row]);
      }
    }
    for (const provider of providers) {
      const rows = writes.get(provider.name);
      if (rows?.length) applied += await replicator.applyRows(provider, table, rows, { force: true });
    }
    onProgress?.(index + 1, diffs.length, `${diff.table} bucket ${diff.bucket}`);
  }
  return applied;
}

export interface RepairReport {
  /** Differing buckets found first. */
  differingBefore: number;
  /** Rows written to make them equal. */
  applied: number;
  /** The verification after the repair. */
  after: VerifyReport;
}

/** Verify, repair what differs, and verify again: the whole of `agentmem sync repair`, as one library call. */
export async function repairAndVerify(
  providers: Provider[],
  schema: string,
  replicator: Replicator,
  onProgress?: (done: number, total: number, step: string) => void,
): Promise<RepairReport> {
  const before = await verifyProviders(providers, schema, onProgress);
  const applied = await repairProviders(providers, schema, replicator, before.differences, onProgress);
  const after = await verifyProviders(providers, schema, onProgress);
  return { differingBefore: before.differences.length, applied, after };
}
