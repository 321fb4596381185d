/**
 * docs/configuration.md is generated from the config schema: a key added,
 * changed or documented in src/config without `npm run docs` fails here, and
 * so does a key that does not say what it does.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configurationMarkdown } from '../../scripts/docs/configuration.js';

const generated = configurationMarkdown();

describe('docs/configuration.md', () => {
  it('is what `npm run docs` makes from the config schema today', () => {
    const committed = readFileSync(join(import.meta.dirname, '../../docs/configuration.md'), 'utf8');
    expect(committed, 'docs/configuration.md is stale: run `npm run docs`').toBe(generated);
  });

  it('says, for every key, what it does; and names the variables the loader reads', () => {
    const rows = generated.split('\n').filter((line) => line.startsWith('| `'));
    expect(rows.length).toBeGreaterThan(100);
    const undocumented = rows.filter((row) => row.trimEnd().endsWith('|  |')).map((row) => row.split('|')[1]?.trim());
    expect(undocumented).toEqual([]);
    for (const variable of [
      'AGENTMEM_PROVIDER_<NAME>_URL',
      'AGENTMEM_TENANT',
      'AGENTMEM_EMBEDDER_API_KEY',
      'TELEGRAM_BOT_TOKEN',
      'NEON_DB_URL',
    ])
      expect(generated).toContain(`\`${variable}\``);
  });
});
