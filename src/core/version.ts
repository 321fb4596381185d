import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * agentmem's version, read from its package.json (the one place it is
 * written): recorded in backups, printed by `agentmem --version`. This file
 * is two folders below the package root both as source and as built.
 */
export const AGENTMEM_VERSION: string = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;

/**
 * The installed version of a package, from its own package.json found above
 * where its entry point resolves (a package's package.json is not always
 * among its exports): "not installed" when it does not resolve, "unknown"
 * when no package.json of that name is found.
 */
export function installedVersion(name: string): string {
  let dir: string;
  try {
    dir = dirname(fileURLToPath(import.meta.resolve(name)));
  } catch {
    return 'not installed';
  }
  for (; dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (!existsSync(file)) continue;
    const manifest = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
    if (manifest.name === name) return manifest.version ?? 'unknown';
  }
  return 'unknown';
}
