// Part of `npm run lint`, beside dependency-cruiser's floors: every folder of
// src/ has a floor in .dependency-cruiser.cjs (dependency-cruiser sees only
// files that import something), and no source file in src/ is over 450 lines.
// A file past it holds more than one concept, or one concept written at too
// much length: split it by concept (a folder per capability) rather than
// raising the limit.
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const LIMIT = 450;
const root = fileURLToPath(new URL('..', import.meta.url));

function* sources(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sources(path);
    else if (/\.(ts|mts|js|mjs)$/.test(entry.name)) yield path;
  }
}

const floors = createRequire(import.meta.url)('../.dependency-cruiser.cjs').forbidden.find((r) => r.name === 'every-folder-has-a-floor');
const placed = new RegExp(floors.from.pathNot);
const unplaced = readdirSync(join(root, 'src')).filter((entry) => !placed.test(`src/${entry}/`));

const over = [];
for (const file of sources(join(root, 'src'))) {
  const lines = readFileSync(file, 'utf8').split('\n').length - 1;
  if (lines > LIMIT) over.push(`${relative(root, file)}: ${lines} lines`);
}
if (unplaced.length)
  process.stderr.write(`src/ entries with no floor in .dependency-cruiser.cjs (add each to FLOORS):\n  ${unplaced.join('\n  ')}\n`);
if (over.length) process.stderr.write(`files in src/ over ${LIMIT} lines (split them by concept):\n  ${over.join('\n  ')}\n`);
if (unplaced.length || over.length) process.exit(1);
process.stdout.write(`layout: every folder of src/ has a floor, every file is within ${LIMIT} lines\n`);
