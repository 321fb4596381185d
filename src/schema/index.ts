export {
  type ColumnDef,
  type ColumnRole,
  type ReplicatedTableName,
  sharedColumns,
  sharedRowJson,
  TABLES,
  type TableDef,
  type TableFlags,
  type TableName,
  table,
} from '../core/tables.js';
export { fromRow, type View, viewColumns } from '../core/views.js';
export { requireAllTenants, type TenantAccess, tenantAccess } from './access.js';
export { type Catalog, readCatalog, type TableCatalog } from './catalog.js';
export { compareCatalogs, type DriftItem, type DriftReport, type DriftSeverity, diffSchema, type FixResult, fixSchema } from './drift.js';
export { embeddedSnapshot, SNAPSHOT_DIR, writeEmbeddedSnapshot } from './embedded-snapshot.js';
export * from './enums.js';
export { type MigrateAction, migrateProviders, type ProviderMigrationResult } from './migrate-providers.js';
export {
  checksumOf,
  DEFAULT_MIGRATIONS_DIR,
  latestSchemaVersion,
  loadMigrations,
  type Migration,
  migrationLabel,
  render,
  sameMigration,
} from './migrations.js';
export {
  type AppliedMigration,
  type MigrationRun,
  type MigrationStatus,
  type MigrationStep,
  Migrator,
  type MigratorOptions,
} from './migrator.js';
export { schemaOptions } from './options.js';
