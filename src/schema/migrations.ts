import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MigrationError } from '../errors/index.js';

export interface Migration {
  version: number;
  name: string;
  /** The .up.sql text as on disk (a template; see render()). */
  up: string;
  down: string | undefined;
  /** sha256 of the .up.sql file: an applied migration must never change. */
  checksum: string;
}

const FILE_PATTERN = /^(\d{4})_([a-z0-9_]+)\.(up|down)\.sql$/;

/** The migrations that ship with agentmem (next to this module in src/ and dist/). */
export const DEFAULT_MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'migrations');

export function checksumOf(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export function loadMigrations(dir: string = DEFAULT_MIGRATIONS_DIR): Migration[] {
  const byVersion = new Map<number, { name: string; up?: string; down?: string }>();
  for (const file of readdirSync(dir).sort()) {
    const match = FILE_PATTERN.exec(file);
    if (!match) continue;
    const [, versionText, name, direction] = match as unknown as [string, string, string, 'up' | 'down'];
    const version = Number(versionText);
    const entry = byVersion.get(version) ?? { name };
    if (entry.name !== name) {
      throw new MigrationError('MIGRATION_FAILED', `two migrations share version ${version}: ${entry.name} and ${name}`);
    }
    entry[direction] = readFileSync(join(dir, file), 'utf8');
    byVersion.set(version, entry);
  }
  return [...byVersion.entries()]
    .sort(([a], [b]) => a - b)
    .map(([version, entry]) => {
      if (entry.up === undefined) throw new MigrationError('MIGRATION_FAILED', `migration ${version}_${entry.name} has no .up.sql file`);
      return { version, name: entry.name, up: entry.up, down: entry.down, checksum: checksumOf(entry.up) };
    });
}

/** Fill {{placeholders}}; an unknown placeholder is a bug in the migration, not something to run. */
export function render(template: string, values: Record<string, string>): string {
  return template.replace(/\{\{\s*(\w+)\s*\}\}/g, (_, key: string) => {
    const value = values[key];
    if (value === undefined) throw new MigrationError('MIGRATION_FAILED', `unknown placeholder {{${key}}} in migration`);
    return value;
  });
}

export const migrationLabel = (m: { version: number; name: string }): string => `${String(m.version).padStart(4, '0')}_${m.name}`;

/** The schema version this code migrates to: its newest migration's. */
export function latestSchemaVersion(migrations: Migration[] = loadMigrations()): number {
  return migrations.at(-1)?.version ?? 0;
}
