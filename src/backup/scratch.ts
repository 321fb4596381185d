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
  readonly name = `agentmem_restore_${randomBytes(6).toString('hex')}`;

  constructor(
    private readonly session: BulkSession,
    private readonly migrations: Migration[],
    private readonly embeddingDim: number,
  ) {}

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
