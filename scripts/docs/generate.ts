/** Writes the generated docs (`npm run docs`): docs/configuration.md from the config schema. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { configurationMarkdown } from './configuration.js';

const ROOT = join(import.meta.dirname, '../..');
writeFileSync(join(ROOT, 'docs/configuration.md'), configurationMarkdown());
console.log('wrote docs/configuration.md');
