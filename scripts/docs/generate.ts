/**
 * Writes the generated docs (`npm run docs`): docs/configuration.md from the
 * config schema, docs/benchmarks.md and its plots from bench/results.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { benchmarksMarkdown } from './benchmarks.js';
import { configurationMarkdown } from './configuration.js';

const DOCS = join(import.meta.dirname, '../../docs');
writeFileSync(join(DOCS, 'configuration.md'), configurationMarkdown());
const { markdown, plots } = benchmarksMarkdown();
writeFileSync(join(DOCS, 'benchmarks.md'), markdown);
for (const [file, svg] of Object.entries(plots)) {
  mkdirSync(dirname(join(DOCS, file)), { recursive: true });
  writeFileSync(join(DOCS, file), svg);
}
console.log(`wrote docs/configuration.md, docs/benchmarks.md and ${Object.keys(plots).length} plot(s)`);
