import { randomBytes } from 'node:crypto';
import { BackupError } from '../errors/index.js';
import type { BulkSession } from '../providers/index.js';
import { type Migration, render, templateValues } from '../schema/index.js';

const NAME = /^[a-z_][a-z0-9_]*$/;
const TYPE = /^[a-z0-9 _,()[\]]+$/;

/**
 * A scratch schema inside the restore's own transaction: agentmem's tables at
 * a given schema version (the archive's), filled, migrated forward, merged,
 * and dropped — or, if anything fails or the process dies, never there at all
 * (DDL is transactional in PostgreSQL).
 */
export class ScratchSchema {
  readonly name: string;
  constructor(
    private readonly session: BulkSession,
    private readonly migrations: Migration[],
    private readonly embeddingDim: number,
    /** Load straight into this existing schema instead (an empty target, see EmptyTargetLoad). */
    existing?: string,
  ) {
    this.name = existing ?? `agentmem_restore_${randomBytes(6).toString('hex')}`;
  }

  /** Apply the migrations in (from, to] to the scratch schema. */
  async migrate(from: number, to: number): Promise<void> {
    const values = templateValues(this.name, this.embeddingDim);
    for (const migration of this.migrations.filter((m) => m.version > from && m.version <= to))
      await this.session.exec(render(migration.up, values));
  }

  /**
   * Ready for a bulk load at the newest version: no secondary index or trigger
   * to maintain row by row (only the primary keys, which catch duplicate rows).
   */
  async stripForLoad(): Promise<void> {
    const { rows } = await this.session.query<{ index: string }>(
      `SELECT i.relname AS index FROM pg_index x
         JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
         JOIN pg_namespace n ON n.oid = t.relnamespace
        WHERE n.nspname = $1 AND NOT x.indisprimary AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)`,
      [this.name],
    );
    for (const { index } of rows) await this.session.exec(`DROP INDEX ${this.name}.${index}`);
    const { rows: tables } = await this.session.query<{ table: string }>(
      "SELECT c.relname AS table FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r'",
      [this.name],
    );
    for (const { table } of tables) await this.session.exec(`ALTER TABLE ${this.name}.${table} DISABLE TRIGGER USER`);
  }

  /** COPY one archive table in; its column names and types are checked before they reach SQL (an archive is input). */
  async load(table: string, columns: { name: string; type: string }[], data: AsyncIterable<Buffer>): Promise<number> {
    if (!NAME.test(table) || !columns.length || columns.some((c) => !NAME.test(c.name) || !TYPE.test(c.type)))
      throw new BackupError('BACKUP_CORRUPT', `the archive names table or columns agentmem does not write (${table})`);
    return this.session.copyIn(`${this.name}.${table} (${columns.map((c) => c.name).join(', ')})`, data);
  }

  async drop(): Promise<void> {
    await this.session.exec(`DROP SCHEMA ${this.name} CASCADE`);
  }
}

/** The sessions' columns a trigger keeps (local bookkeeping), which a load with triggers off must work out unless the archive has them. */
export const SESSION_BOOKKEEPING = ['message_count', 'last_position'] as const;

/**
 * The fast way into an empty target (a new provider, a drill's scratch
 * schema): COPY straight into its tables with their secondary indexes dropped
 * and their triggers off, then the indexes built once (as pg_restore does) and
 * the message counts the triggers would have kept computed in one statement.
 * All inside the restore's transaction: a failure leaves the target as it was.
 * Needs the tables' owner; without it the slower merge through a scratch schema is used.
 */
export class EmptyTargetLoad {
  private indexes: string[] = [];
  private keys: string[] = [];

  constructor(
    private readonly session: BulkSession,
    private readonly schema: string,
    private readonly tables: string[],
  ) {}

  /** Whether every table is empty and ours to alter; if so, strips them for the load (indexes, keys, triggers). */
  async prepare(): Promise<boolean> {
    for (const table of this.tables) {
      const { rows } = await this.session.query(`SELECT 1 FROM ${this.schema}.${table} LIMIT 1`);
      if (rows.length) return false;
    }
    const { rows: owned } = await this.session.query<{ ok: boolean }>(
      `SELECT bool_and(pg_has_role(current_user, c.relowner, 'USAGE')) AS ok FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relname = ANY($2)`,
      [this.schema, this.tables],
    );
    if (!owned[0]?.ok) return false;
    const { rows } = await this.session.query<{ name: string; definition: string }>(
      `SELECT i.relname AS name, pg_get_indexdef(x.indexrelid) AS definition FROM pg_index x
         JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace
        WHERE n.nspname = $1 AND t.relname = ANY($2) AND NOT x.indisprimary
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)`,
      [this.schema, this.tables],
    );
    for (const index of rows) await this.session.exec(`DROP INDEX ${this.schema}.${index.name}`);
    this.indexes = rows.map((r) => r.definition);
    // Keys too, as pg_restore does: a key built once over sorted data beats one grown row by row (and still refuses duplicates).
    const { rows: keys } = await this.session.query<{ table: string; name: string; definition: string }>(
      `SELECT t.relname AS table, c.conname AS name, pg_get_constraintdef(c.oid) AS definition FROM pg_constraint c
         JOIN pg_class t ON t.oid = c.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace
        WHERE n.nspname = $1 AND t.relname = ANY($2) AND c.contype IN ('p', 'u')`,
      [this.schema, this.tables],
    );
    for (const key of keys) await this.session.exec(`ALTER TABLE ${this.schema}.${key.table} DROP CONSTRAINT ${key.name}`);
    this.keys = keys.map((k) => `ALTER TABLE ${this.schema}.${k.table} ADD CONSTRAINT ${k.name} ${k.definition}`);
    for (const table of this.tables) await this.session.exec(`ALTER TABLE ${this.schema}.${table} DISABLE TRIGGER USER`);
    return true;
  }

  /**
   * Rebuild keys and indexes, turn triggers back on; unless the archive carried
   * the sessions' bookkeeping (SESSION_BOOKKEEPING: what the triggers would have
   * kept), work it out: each session's live message count and highest position.
   */
  async finish(messageTypes: readonly string[], bookkeepingLoaded: boolean): Promise<void> {
    for (const definition of [...this.keys, ...this.indexes]) await this.session.exec(definition);
    for (const table of this.tables) await this.session.exec(`ALTER TABLE ${this.schema}.${table} ENABLE TRIGGER USER`);
    if (bookkeepingLoaded) return;
    await this.session.query(
      `UPDATE ${this.schema}.sessions s SET message_count = c.n, last_position = c.last
         FROM (SELECT tenant_id, session_id, count(*) FILTER (WHERE deleted_at IS NULL AND memory_type = ANY($1)) AS n,
                      coalesce(max(position), -1) AS last
                 FROM ${this.schema}.memories WHERE session_id IS NOT NULL GROUP BY 1, 2) c
        WHERE s.tenant_id = c.tenant_id AND s.id = c.session_id`,
      [messageTypes],
    );
  }
}
