import { asOfRelation, HISTORY_TABLES, historyRow } from '../core/as-of.js';
import { BackupError } from '../errors/index.js';
import type { Provider } from '../providers/index.js';
import { REPLICATED_TABLES, upsertSql } from '../replication/index.js';
import { latestSchemaVersion, loadMigrations } from '../schema/index.js';
import { listBackups } from './catalog.js';
import type { RestoreMode } from './merge.js';
import { readSidecar } from './read.js';
import { checkRestorable, loadArchive, type RestoreOptions, type RestoreReport, restoreWith } from './restore.js';

export interface AsOfRestoreOptions extends Omit<RestoreOptions, 'tenant' | 'mode'> {
  at: Date;
  tenant: string;
  /** Only this session (its row and messages) or this one record (a memory, atom, setting `category/key`). */
  session?: string;
  record?: string;
  /** How far back the change history reaches (config history.retentionDays). */
  historyRetentionDays: number;
  mode?: RestoreMode | 'auto';
}

/** Changes a little older than a backup's snapshot are applied again: a transaction can commit just after the snapshot began. */
const SNAPSHOT_OVERLAP = "interval '5 minutes'";

/**
 * Bring a tenant, a session or one record back to how it was at `at`: the
 * newest backup from before `at` (still within the history window) plus the
 * changes recorded after its snapshot up to `at`; with no such backup, the
 * rows as they are now with every change after `at` undone, as far back as
 * the history reaches. Written like any rewind: with fresh versions, so
 * replication carries it everywhere.
 */
export async function restoreAsOf(provider: Provider, options: AsOfRestoreOptions): Promise<RestoreReport & { base: string }> {
  const now = Date.now();
  if (options.at.getTime() > now) throw new BackupError('RESTORE_REFUSED', `--as-of ${options.at.toISOString()} is in the future`);
  const historyFrom = now - options.historyRetentionDays * 86_400_000;
  const migrations = loadMigrations();
  const latest = latestSchemaVersion(migrations);
  const { backups } = await listBackups(options.store);
  const base = backups.find(
    (b) =>
      (b.tenant === null || b.tenant === options.tenant) &&
      Date.parse(b.snapshotAt) <= options.at.getTime() &&
      Date.parse(b.snapshotAt) >= historyFrom &&
      b.schemaVersion <= latest,
  );
  const scope = { ...(options.session ? { session: options.session } : {}), ...(options.record ? { record: options.record } : {}) };
  const common = { ...options, scope, tenant: options.tenant, actor: `restore-as-of:${options.at.toISOString()}` };
  if (base) {
    const sidecar = await readSidecar(options.store, base.id);
    checkRestorable(sidecar.manifest, migrations);
    const report = await restoreWith(provider, sidecar.manifest, common, {
      load: (scratch) => loadArchive(scratch, sidecar, options),
      adjust: async (scratch, session, into) => {
        for (const name of HISTORY_TABLES) {
          const table = REPLICATED_TABLES.find((t) => t.name === name);
          if (!table) continue;
          // The newest change after the backup's snapshot and up to the time, where it is newer than the archive's row.
          await session.query(
            upsertSql(
              table,
              `${scratch.name}.${name}`,
              `SELECT ${table.columns.map((c) => `r.${c}`).join(', ')} FROM (
                 SELECT DISTINCT ON (h.record_key) ${historyRow('h', 'new')} AS new_row FROM ${into}.change_history h
                  WHERE h.tenant_id = $1 AND h.table_name = '${name}'
                    AND h.changed_at > $2::timestamptz - ${SNAPSHOT_OVERLAP} AND h.changed_at <= $3
                  ORDER BY h.record_key, h.changed_at DESC, h.row_version DESC) x
               CROSS JOIN LATERAL jsonb_populate_record(NULL::${scratch.name}.${name}, x.new_row) r`,
            ),
            [options.tenant, sidecar.manifest.snapshotAt, options.at],
          );
        }
      },
    });
    return { ...report, base: base.id };
  }
  if (options.at.getTime() < historyFrom)
    throw new BackupError(
      'RESTORE_REFUSED',
      `no backup of tenant ${options.tenant} from before ${options.at.toISOString()} within the history window, and the change history reaches back only ${options.historyRetentionDays} days`,
    );
  const report = await restoreWith(
    provider,
    { id: `as-of-${options.at.toISOString()}`, tenant: options.tenant, schema: { version: latest } },
    common,
    {
      load: async () => undefined,
      adjust: async (scratch, session, into) => {
        for (const name of HISTORY_TABLES) {
          const table = REPLICATED_TABLES.find((t) => t.name === name);
          if (!table) continue;
          const cols = table.columns.join(', ');
          await session.query(
            `INSERT INTO ${scratch.name}.${name} (${cols}) SELECT ${cols} FROM ${asOfRelation(name, { schema: into, tenant: '$1', at: '$2::timestamptz' })} x`,
            [options.tenant, options.at],
          );
        }
      },
    },
  );
  return { ...report, base: 'history' };
}
