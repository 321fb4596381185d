import { hint } from '../core/commands.js';
import { MESSAGE_TYPES } from '../core/enums.js';
import { clock } from '../core/hlc.js';
import type { Erasure } from '../erasure/index.js';
import { applyErasures, type ErasedCounts, emptyCounts, mergeLedgers, readLedger, recordLedger } from '../erasure/index.js';
import { BackupError } from '../errors/index.js';
import type { BulkSession, Provider } from '../providers/index.js';
import { REPLICATED_TABLES } from '../replication/index.js';
import { latestSchemaVersion, loadMigrations, type Migration, Migrator, requireAllTenants, sameMigration } from '../schema/index.js';
import type { Manifest, Sidecar } from './manifest.js';
import { freshVersion, mergeRestored, type RestoreMode, type RestoreScope, type TableMerge, targetHasRows } from './merge.js';
import type { ProgressListener } from './progress.js';
import { readArchive, readSidecar } from './read.js';
import { EmptyTargetLoad, ScratchSchema, SESSION_BOOKKEEPING } from './scratch.js';
import type { BackupStore } from './store.js';

export interface RestoreOptions {
  /** agentmem's schema on the target (config.schema). */
  schema: string;
  /** Restore into this schema instead (a scratch schema for a drill or a look), migrated first. */
  intoSchema?: string;
  store: BackupStore;
  key?: string;
  /** Only this tenant (default: the archive's scope — one tenant, or all). */
  tenant?: string;
  /** auto (default): seed an empty target, rewind one that holds rows in scope. */
  mode?: RestoreMode | 'auto';
  /** Do all of it, report what would change, and roll back. */
  dryRun?: boolean;
  /** The highest version other providers hold: a rewind writes above it, so the restored state wins there too. */
  versionFloor?: bigint;
  embeddingDim: number;
  onProgress?: ProgressListener;
  /** Erasure ledger entries known elsewhere (every reachable provider's): applied with the archive's and the target's own. */
  erasures?: Erasure[];
}

export interface RestoreReport {
  id: string;
  target: string;
  schema: string;
  tenant: string | null;
  mode: RestoreMode;
  dryRun: boolean;
  /** The archive's schema version, and the one it was migrated to after loading. */
  fromSchemaVersion: number;
  toSchemaVersion: number;
  tables: TableMerge[];
  /** Rows the erasure ledger removed again from what was restored (and from the target): erased data never comes back. */
  erased: ErasedCounts;
  durationMs: number;
}

/** An archive this code can restore: not from a newer schema, and from the same migrations. */
export function checkRestorable(manifest: Manifest, migrations: Migration[]): void {
  const latest = latestSchemaVersion(migrations);
  if (manifest.schema.version > latest)
    throw new BackupError(
      'BACKUP_SCHEMA',
      `backup ${manifest.id} was made by a newer schema (version ${manifest.schema.version}) than this agentmem knows (${latest}): restore it with agentmem ${manifest.agentmemVersion} or newer`,
      { id: manifest.id, archiveVersion: manifest.schema.version, codeVersion: latest },
    );
  for (const applied of manifest.schema.migrations) {
    const ours = migrations.find((m) => m.version === applied.version);
    if (!ours || !sameMigration(ours, applied.checksum))
      throw new BackupError(
        'BACKUP_SCHEMA',
        `backup ${manifest.id} was made with a migration ${applied.version} (${applied.name}) that differs from this agentmem's`,
        { id: manifest.id, version: applied.version },
      );
  }
}

class DryRun extends Error {
  constructor(
    readonly tables: TableMerge[],
    readonly erased: ErasedCounts,
  ) {
    super('dry run');
  }
}

/** Add up what two applications of the ledger removed. */
const addCounts = (a: ErasedCounts, b: ErasedCounts): ErasedCounts =>
  Object.fromEntries(Object.entries(a).map(([k, v]) => [k, v + b[k as keyof ErasedCounts]])) as ErasedCounts;

/**
 * Restore an archive into a provider, all or nothing: one transaction on the
 * provider's direct connection loads the archive into a scratch schema at
 * the archive's version, migrates it forward, merges it into the target
 * (seed or rewind, within the scope) and drops it. A failure anywhere — a
 * damaged archive found at its last byte, a provider killed mid-way — rolls
 * all of it back: the target stays as it was.
 */
export async function restoreBackup(provider: Provider, id: string, options: RestoreOptions): Promise<RestoreReport> {
  const sidecar = await readSidecar(options.store, id);
  checkRestorable(sidecar.manifest, loadMigrations());
  return restoreWith(provider, sidecar.manifest, options, {
    load: (scratch) => loadArchive(scratch, sidecar, options),
    whole: true,
  });
}

/** Every table of an archive into the scratch schema (checked to its last byte before the caller may commit). */
export async function loadArchive(
  scratch: ScratchSchema,
  sidecar: Sidecar,
  options: { store: BackupStore; key?: string; onProgress?: ProgressListener },
): Promise<Map<string, number>> {
  const reading = { ...(options.key ? { key: options.key } : {}), ...(options.onProgress ? { onProgress: options.onProgress } : {}) };
  const loaded = new Map<string, number>();
  for await (const section of readArchive(options.store, sidecar, reading))
    loaded.set(section.table, await scratch.load(section.table, section.columns, section.data));
  return loaded;
}

/** What fills the scratch schema: `load` at the source's schema version, `adjust` after it was migrated to the newest. */
export interface ScratchFill {
  /** Fill the scratch schema; may say how many rows went into each table. */
  load(scratch: ScratchSchema, session: BulkSession): Promise<Map<string, number> | undefined>;
  adjust?(scratch: ScratchSchema, session: BulkSession, into: string): Promise<void>;
  /** Whole tables, as they are (an archive restored whole): may go straight into an empty target. */
  whole?: boolean;
}

/** The shared frame of every restore: the target's schema, the scratch schema, the merge, all in one transaction. */
export async function restoreWith(
  provider: Provider,
  manifest: Pick<Manifest, 'id' | 'tenant'> & { schema: { version: number }; tables?: Manifest['tables'] },
  options: RestoreOptions & { scope?: Omit<RestoreScope, 'tenant'>; actor?: string },
  fill: ScratchFill,
): Promise<RestoreReport> {
  const started = performance.now();
  const migrations = loadMigrations();
  const latest = latestSchemaVersion(migrations);
  if (options.tenant !== undefined && manifest.tenant !== null && manifest.tenant !== options.tenant)
    throw new BackupError('RESTORE_REFUSED', `backup ${manifest.id} holds tenant ${manifest.tenant} only, not ${options.tenant}`, {
      id: manifest.id,
      tenant: options.tenant,
    });
  const tenant = options.tenant ?? manifest.tenant ?? undefined;
  const scope: RestoreScope = { ...(tenant !== undefined ? { tenant } : {}), ...options.scope };
  const into = options.intoSchema ?? options.schema;
  const target = provider.direct();
  const migrator = new Migrator(target, { schema: into, embeddingDim: options.embeddingDim, migrations });
  if (options.dryRun) {
    const status = await migrator.status();
    if (status.current < latest)
      throw new BackupError('RESTORE_REFUSED', `a dry run needs ${target.name}'s schema ${into} migrated: run ${hint('migrateUp')} first`);
  } else await migrator.up();
  // Rows hidden by row-level security would be neither restored over nor tombstoned.
  await requireAllTenants(target, into);

  let mode: RestoreMode = 'seed';
  let tables: TableMerge[] = [];
  let erased = emptyCounts();
  try {
    tables = await target.bulk(
      async (session) => {
        await session.query("SELECT set_config('TimeZone', 'UTC', true), set_config('agentmem.replicating', 'on', true)");
        // An archive restored whole, at the current schema, into a target with no rows at all: straight in (seed).
        const direct =
          fill.whole &&
          manifest.schema.version === latest &&
          (options.mode ?? 'auto') !== 'rewind' &&
          (tenant === undefined || manifest.tenant === tenant) &&
          new EmptyTargetLoad(
            session,
            into,
            REPLICATED_TABLES.map((t) => t.name),
          );
        if (direct && (await direct.prepare())) {
          const loaded = await fill.load(new ScratchSchema(session, migrations, options.embeddingDim, into), session);
          await direct.finish(
            MESSAGE_TYPES,
            manifest.tables?.some(
              (t) => t.name === 'sessions' && SESSION_BOOKKEEPING.every((name) => t.columns.some((c) => c.name === name)),
            ) ?? false,
          );
          // Rows keep their versions here: the ledger (the archive's, and every provider's) applies as it is.
          const ledger = mergeLedgers(options.erasures ?? [], await readLedger(session, into));
          await recordLedger(session, into, ledger);
          erased = await applyErasures(session, into, ledger);
          const counts: TableMerge[] = REPLICATED_TABLES.map((t) => ({ table: t.name, restored: loaded?.get(t.name) ?? 0, tombstoned: 0 }));
          if (options.dryRun) throw new DryRun(counts, erased);
          return counts;
        }
        const scratch = new ScratchSchema(session, migrations, options.embeddingDim);
        await scratch.migrate(0, manifest.schema.version);
        if (manifest.schema.version === latest) await scratch.stripForLoad();
        await fill.load(scratch, session);
        await scratch.migrate(manifest.schema.version, latest);
        await fill.adjust?.(scratch, session, into);
        // The erasure ledger, before anything merges: archived rows still carry their versions, so an
        // erasure recorded after the archive was made removes them here (a rewind writes them with fresh ones).
        const ledger = mergeLedgers(options.erasures ?? [], await readLedger(session, scratch.name), await readLedger(session, into));
        await recordLedger(session, scratch.name, ledger);
        erased = await applyErasures(session, scratch.name, ledger);
        mode = options.mode && options.mode !== 'auto' ? options.mode : (await targetHasRows(session, into, scope)) ? 'rewind' : 'seed';
        let version = 0n;
        if (mode === 'rewind') {
          // The restore's own changes are recorded in the change history, under its name.
          await session.query("SELECT set_config('agentmem.replicating', 'off', true), set_config('agentmem.actor', $1, true)", [
            options.actor ?? `restore:${manifest.id}`,
          ]);
          version = await freshVersion(session, into, scope, clock.now(), options.versionFloor);
          clock.observe(version);
        }
        const merged = await mergeRestored(session, { from: scratch.name, into, scope, mode, version, origin: target.name });
        await scratch.drop();
        erased = addCounts(erased, await applyErasures(session, into, ledger));
        if (options.dryRun) throw new DryRun(merged, erased);
        return merged;
      },
      { isolation: 'read committed' },
    );
  } catch (error) {
    if (!(error instanceof DryRun)) throw error;
    tables = error.tables;
    erased = error.erased;
  }
  return {
    id: manifest.id,
    target: target.name,
    schema: into,
    tenant: tenant ?? null,
    mode,
    dryRun: Boolean(options.dryRun),
    fromSchemaVersion: manifest.schema.version,
    toSchemaVersion: latest,
    tables,
    erased,
    durationMs: Math.round(performance.now() - started),
  };
}
