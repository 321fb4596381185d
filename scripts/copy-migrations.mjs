// The compiled migrator reads its .sql files next to itself, so the build copies them.
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const target = join(root, 'dist/schema/migrations');
// Emptied first: a migration renamed or removed in src must not linger in dist as a second one.
rmSync(target, { recursive: true, force: true });
mkdirSync(target, { recursive: true });
cpSync(join(root, 'src/schema/migrations'), target, { recursive: true });
