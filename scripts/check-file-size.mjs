// Part of `npm run lint`: no source file in src/ over 450 lines. A file past it
// holds more than one concept, or one concept written at too much length: split
// it by concept (a folder per capability) rather than raising the limit.
import { readdirSync, readFileSync } from 'node:fs';
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

const over = [];
for (const file of sources(join(root, 'src'))) {
  const lines = readFileSync(file, 'utf8').split('\n').length - 1;
  if (lines > LIMIT) over.push(`${relative(root, file)}: ${lines} lines`);
}
if (over.length) {
  process.stderr.write(`files in src/ over ${LIMIT} lines (split them by concept):\n  ${over.join('\n  ')}\n`);
  process.exit(1);
}
process.stdout.write(`file sizes: every file in src/ is within ${LIMIT} lines\n`);
