import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigError, MigrationError } from '../errors/index.js';
import type { Provider, Queryable } from '../providers/index.js';
import { inTransaction } from '../providers/index.js';
import { templateValues } from './enums.js';
import { loadMigrations, type Migration, migrationLabel, render, sameMigration } from './migrations.js';

export interface AppliedMigration {
  version: number;
  name: string;
  checksum: string;
  appliedAt: string;
  durationMs: number;
}

export interface MigrationStatus {
  provider: string;
  /** Highest applied version, 0 when none. */
  current: number;
  latest: number;
  applied: (AppliedMigration & { state: 'applied' | 'checksum_mismatch' | 'unknown' })[];
  pending: { version: number; name: string }[];
  ok: boolean;
}

export interface MigrationStep {
  version: number;
  name: string;
  direction: 'up' | 'down';
  durationMs: number;
}

export interface MigrationRun {
  provider: string;
  steps: MigrationStep[];
  current: number;
}

export interface MigratorOptions {
  schema: string;
  /** The embedding dimension vector indexes are built for (default 384, the local embedder's). */
  embeddingDim?: number;
  migrations?: Migration[];
  /** How long to wait for another migrator to finish; default 120 s. */
  lockTimeoutMs?: number;
  /** Per-statement bound while a migration runs; default 10 minutes. */
  statementTimeoutMs?: number;
  onStep?: (event: {
    provider: string;
    phase: 'start' | 'done';
    step: Omit<MigrationStep, 'durationMs'> & { durationMs?: number };
  }) => void;
}

/**
 * Applies versioned .sql migrations to one provider. Runs hold session-level
 * advisory locks (the database's and the schema's), so concurrent migrators
 * (several app instances starting at once, or apps with schemas of their own
 * in one database) wait their turn and each migration is applied exactly once. Every
 * migration runs in its own transaction together with its schema_versions row.
 */
export class Migrator {
  private readonly migrations: Migration[];
  private readonly lockTimeoutMs: number;
  private readonly statementTimeoutMs: number;

  private readonly provider: Provider;

  constructor(
    provider: Provider,
    private readonly options: MigratorOptions,
  ) {
    // Migrations hold a session advisory lock and run DDL: the direct connection (directUrl), never a pooler.
    this.provider = provider.direct();
    this.migrations = options.migrations ?? loadMigrations();
    this.lockTimeoutMs = options.lockTimeoutMs ?? 120_000;
    this.statementTimeoutMs = options.statementTimeoutMs ?? 600_000;
  }

  private get table(): string {
    return `${this.options.schema}.schema_versions`;
  }

  async status(): Promise<MigrationStatus> {
    const applied = await this.readApplied(this.provider);
    return this.describe(applied);
  }

  async up(options: { to?: number } = {}): Promise<MigrationRun> {
    return this.locked(async (connection) => {
      const applied = await this.readApplied(connection);
      this.refuseNewer(applied);
      this.refuseEdited(applied);
      const done = new Set(applied.map((a) => a.version));
      const target = options.to ?? Number.POSITIVE_INFINITY;
      const steps: MigrationStep[] = [];
      for (const migration of this.migrations) {
        if (done.has(migration.version) || migration.version > target) continue;
        steps.push(await this.apply(connection, migration, 'up'));
      }
      return { provider: this.provider.name, steps, current: currentOf(await this.readApplied(connection)) };
    });
  }

  /** Roll back the newest migration, or every migration above `to`. */
  async down(options: { to?: number } = {}): Promise<MigrationRun> {
    return this.locked(async (connection) => {
      const applied = await this.readApplied(connection);
      this.refuseEdited(applied);
      const newestFirst = [...applied].sort((a, b) => b.version - a.version);
      const toUndo = options.to === undefined ? newestFirst.slice(0, 1) : newestFirst.filter((a) => a.version > (options.to as number));
      const steps: MigrationStep[] = [];
      for (const record of toUndo) {
        const migration = this.migrations.find((m) => m.version === record.version);
        if (!migration) {
          throw new MigrationError(
            'MIGRATION_FAILED',
            `cannot roll back ${migrationLabel(record)} on "${this.provider.name}": this version of agentmem does not have it`,
          );
        }
        if (migration.down === undefined) {
          throw new MigrationError(
            'MIGRATION_FAILED',
            `migration ${migrationLabel(migration)} has no .down.sql file; it cannot be rolled back`,
          );
        }
        steps.push(await this.apply(connection, migration, 'down'));
      }
      return { provider: this.provider.name, steps, current: currentOf(await this.readApplied(connection)) };
    });
  }

  private describe(applied: AppliedMigration[]): MigrationStatus {
    const known = new Map(this.migrations.map((m) => [m.version, m]));
    const rows = applied.map((a) => {
      const migration = known.get(a.version);
      const state = !migration ? 'unknown' : sameMigration(migration, a.checksum) ? 'applied' : 'checksum_mismatch';
      return { ...a, state } as const;
    });
    const done = new Set(applied.map((a) => a.version));
    const pending = this.migrations.filter((m) => !done.has(m.version)).map((m) => ({ version: m.version, name: m.name }));
    return {
      provider: this.provider.name,
      current: currentOf(applied),
      latest: this.migrations.at(-1)?.version ?? 0,
      applied: rows,
      pending,
      ok: pending.length === 0 && rows.every((r) => r.state === 'applied'),
    };
  }

  /**
   * A database migrated by a newer agentmem has versions this code does not
   * know: its queries would meet columns, constraints and triggers it was not
   * written for, so it refuses instead of running (and instead of applying
   * its own older migrations around the newer ones).
   */
  private refuseNewer(applied: AppliedMigration[]): void {
    const latest = this.migrations.at(-1)?.version ?? 0;
    const newer = applied.filter((a) => a.version > latest);
    if (!newer.length) return;
    const current = currentOf(applied);
    throw new MigrationError(
      'SCHEMA_NEWER',
      `the agentmem schema "${this.options.schema}" on provider "${this.provider.name}" is at version ${current}, newer than this agentmem knows ` +
        `(up to ${latest}: ${newer.map((a) => migrationLabel(a)).join(', ')} came from a newer release); ` +
        `upgrade agentmem here, or roll the schema back with the newer release's \`agentmem migrate down --to ${latest}\``,
      { provider: this.provider.name, current, latest },
    );
  }

  private refuseEdited(applied: AppliedMigration[]): void {
    for (const record of applied) {
      const migration = this.migrations.find((m) => m.version === record.version);
      if (migration && !sameMigration(migration, record.checksum)) {
        throw new MigrationError(
          'MIGRATION_CHECKSUM',
          `migration ${migrationLabel(migration)} was edited after it was applied to provider "${this.provider.name}" ` +
            `(recorded checksum ${record.checksum.slice(0, 12)}…, file now ${migration.checksum.slice(0, 12)}…); ` +
            'restore the original file and put the change in a new migration',
          { provider: this.provider.name, version: migration.version },
        );
      }
    }
  }

  private async apply(connection: Queryable, migration: Migration, direction: 'up' | 'down'): Promise<MigrationStep> {
    const step = { version: migration.version, name: migration.name, direction };
    this.options.onStep?.({ provider: this.provider.name, phase: 'start', step });
    const sql = render(
      direction === 'up' ? migration.up : (migration.down as string),
      templateValues(this.options.schema, this.options.embeddingDim),
    );
    const started = performance.now();
    try {
      await inTransaction(connection, async (tx) => {
        await tx.query(`SET LOCAL statement_timeout = ${this.statementTimeoutMs}`);
        await tx.exec(sql, { timeoutMs: this.statementTimeoutMs });
        const durationMs = Math.round(performance.now() - started);
        if (direction === 'up') {
          await tx.query(`INSERT INTO ${this.table} (version, name, checksum, duration_ms) VALUES ($1, $2, $3, $4)`, [
            migration.version,
            migration.name,
            migration.checksum,
            durationMs,
          ]);
        } else {
          await tx.query(`DELETE FROM ${this.table} WHERE version = $1`, [migration.version]);
        }
      });
    } catch (error) {
      throw new MigrationError(
        'MIGRATION_FAILED',
        `migration ${migrationLabel(migration)} (${direction}) failed on provider "${this.provider.name}" and was rolled back: ${(error as Error).message}`,
        { provider: this.provider.name, version: migration.version },
        { cause: error },
      );
    }
    const durationMs = Math.round(performance.now() - started);
    this.options.onStep?.({ provider: this.provider.name, phase: 'done', step: { ...step, durationMs } });
    return { ...step, durationMs };
  }

  private async readApplied(db: Queryable): Promise<AppliedMigration[]> {
    const exists = await db.query<{ present: boolean }>('SELECT to_regclass($1) IS NOT NULL AS present', [this.table]);
    if (!exists.rows[0]?.present) return [];
    const { rows } = await db.query<{ version: number; name: string; checksum: string; applied_at: Date; duration_ms: number }>(
      `SELECT version, name, checksum, applied_at, duration_ms FROM ${this.table} ORDER BY version`,
    );
    return rows.map((r) => ({
      version: Number(r.version),
      name: r.name,
      checksum: r.checksum,
      appliedAt: new Date(r.applied_at).toISOString(),
      durationMs: Number(r.duration_ms),
    }));
  }

  /** Hold the migration lock for fn, waiting (bounded) while another migrator has it. */
  private locked<T>(fn: (connection: Queryable) => Promise<T>): Promise<T> {
    if (this.provider.pooled) {
      // A session advisory lock through a transaction pooler lands on some other client's session.
      return Promise.reject(
        new ConfigError(
          `provider "${this.provider.name}" connects through a transaction pooler, and migrations hold a session lock: give it a \`directUrl\` (a direct connection: Neon's URL without "-pooler", Supabase's on port 5432)`,
          { provider: this.provider.name },
        ),
      );
    }
    return this.provider.withConnection(async (connection) => {
      // Two locks, taken in this order: the database's, then the schema's. Migrators of two
      // schemas in one database both create extensions (pgvector, btree_gin), which are
      // database-wide: at the same moment, one failed on the other's (pg_extension's unique
      // index). The schema's lock is the one older versions take, so they still wait for us.
      const keys = ['agentmem.migrate', `agentmem.migrate.${this.options.schema}`];
      const held: string[] = [];
      try {
        for (const key of keys) {
          await this.lock(connection, key);
          held.push(key);
        }
        await this.bootstrap(connection);
        return await fn(connection);
      } finally {
        for (const key of held.reverse()) {
          await connection.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [key]).catch(() => undefined);
        }
      }
    });
  }

  /** Take one session advisory lock, waiting (bounded by lockTimeoutMs) while another migrator holds it. */
  private async lock(connection: Queryable, key: string): Promise<void> {
    const deadline = Date.now() + this.lockTimeoutMs;
    for (;;) {
      const { rows } = await connection.query<{ locked: boolean }>('SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS locked', [key]);
      if (rows[0]?.locked) return;
      if (Date.now() > deadline) {
        throw new MigrationError(
          'MIGRATION_LOCK_TIMEOUT',
          `another migrator held the lock on provider "${this.provider.name}" for more than ${this.lockTimeoutMs} ms`,
          { provider: this.provider.name },
        );
      }
      await sleep(100 + Math.random() * 150);
    }
  }

  private async bootstrap(connection: Queryable): Promise<void> {
    await connection.exec(bootstrapSql(this.options.schema));
  }
}

/** The schema and the migrator's own bookkeeping table. */
export function bootstrapSql(schema: string): string {
  return `CREATE SCHEMA IF NOT EXISTS ${schema};
    CREATE TABLE IF NOT EXISTS ${schema}.schema_versions (
      version     integer     PRIMARY KEY,
      name        text        NOT NULL,
      checksum    text        NOT NULL,
      applied_at  timestamptz NOT NULL DEFAULT now(),
      duration_ms integer     NOT NULL
    );`;
}

function currentOf(applied: { version: number }[]): number {
  return applied.reduce((max, a) => Math.max(max, a.version), 0);
}
