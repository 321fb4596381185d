/**
 * docs/benchmarks.md and its plots are what `npm run docs` makes from the
 * recorded results in bench/results: a result recorded (or a change to the
 * generator) without `npm run docs` fails here. Every recorded result names
 * the machine and the day it ran.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { benchmarksMarkdown, recordedResults } from '../../scripts/docs/benchmarks.js';

const DOCS = join(import.meta.dirname, '../../docs');

describe('docs/benchmarks.md', () => {
  const { markdown, plots } = benchmarksMarkdown();

  it('is what `npm run docs` makes from bench/results today, plots included', () => {
    expect(readFileSync(join(DOCS, 'benchmarks.md'), 'utf8'), 'stale: run `npm run docs`').toBe(markdown);
    for (const [file, svg] of Object.entries(plots)) expect(readFileSync(join(DOCS, file), 'utf8'), file).toBe(svg);
  });

  it('has a section for each recorded bench, each naming its machine, cores and day', () => {
    const results = recordedResults();
    expect(results.length).toBeGreaterThan(0);
    for (const r of results) {
      expect(markdown).toContain(`## ${r.bench}`);
      expect(r.machine.cores).toBeGreaterThan(0);
      expect(Date.parse(r.recordedAt)).not.toBeNaN();
    }
  });
});
