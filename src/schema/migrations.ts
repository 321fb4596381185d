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
  /** Checksums of earlier texts of this file that differ from it only in comments (see COMMENT_ONLY_EDITS). */
  formerChecksums: string[];
}

/**
 * Shipped migrations whose comments were reworded after release, by version:
 * the sha256 of the text before. Only whole-line `--` comments changed (the
 * SQL, compared line by line with comment lines left out, is identical), so a
 * database or an archive that recorded one of these applied the same
 * migration, and is not told it was edited.
 */
const COMMENT_ONLY_EDITS: Record<number, string> = {
  8: 'fb074cdce8adef8a6c3f594091d8055e7313a878c5682d29a663dc92f02fb8bd',
  9: '94ae3136e40e7ff82f4051b6ccd9fc8a8168dd1ab83c82411026cf6940ccf3eb',
  10: '442b4450af10a92e01db71d35785cd2f0a043f99607b67637b6125c327a1c978',
  11: 'cd93decffb0dc0d1f08456397d98f99a8235e5bce7a46c9877f61cce10eb9ea3',
  12: '4d0032c234328ec15e7e903ed65193d41ab293caf947c37dd9d044cae927bf26',
  13: '96722eba75530a26e92f71059a9b7852e79af3a6a8806ddae10dfc5771748e43',
  14: 'c613268efd66bcdd04e0759ab1ce7261369d945451f858afd2c0d2ef2b81e964',
  15: 'aa0a22aac51b89c53304bbe7df493c789b6295675340b8b5bfe39622acba9fbd',
  16: 'eef76c2ad8965154afe424fe04d19a94ac80d544660a7efcb55f93c9f2e2d502',
  17: 'caa536520a2f2e01e687182644356217d1b42e9ed96c3493cd45b13ef36e95de',
  18: 'fbf8ead969efbd3e1bac95f9d7826d530c4a700448a21cb5744e8d1dfdff7a64',
  19: '14547a9c0bcdf449ac21ed68446927e3d0b0288fa55ac0d85f353d4b5f6c0efa',
  20: '06af587fc1cca9b3dd6f84689f947592e8ab94ac0574dd4de7dcdc96d58e2a7b',
  21: '6856f35885f12eb2a53cc1c2963b12863a316399aad9d3c710517468d66f280d',
};

/** Whether a recorded checksum is this migration's: today's text, or an earlier one that differed only in comments. */
export function sameMigration(migration: Migration, checksum: string): boolean {
  return migration.checksum === checksum || migration.formerChecksums.includes(checksum);
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
      const former = dir === DEFAULT_MIGRATIONS_DIR ? COMMENT_ONLY_EDITS[version] : undefined;
      return {
        version,
        name: entry.name,
        up: entry.up,
        down: entry.down,
        checksum: checksumOf(entry.up),
        formerChecksums: former ? [former] : [],
      };
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
