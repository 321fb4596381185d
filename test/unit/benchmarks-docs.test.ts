/**
 * docs/benchmarks.md and its plots are what `npm run docs` makes from the
 * recorded results in bench/results: a result recorded (or a change to the
 * generator) without `npm run docs` fails here. Every recorded result names
 * the machine and the day it ran.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { extraPlots } from '../../scripts/docs/bench-plots.js';
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

describe('plots besides the ratios', () => {
  it('draws each failover trial, search latency by corpus size and recall by ef_search', () => {
    const failover = extraPlots('failover', {
      sigkill: { to_first_write_on_next_ms: { min: 20, median: 40, max: 90, sittings: [20, 40, 90], target: 1000 } },
      sigstop: { to_first_write_on_next_ms: { min: 1100, median: 1200, max: 1300, sittings: [1100, 1200, 1300, 1250], target: 1500 } },
    });
    expect(Object.keys(failover)).toEqual(['failover-trials']);
    expect(failover['failover-trials']?.match(/<circle /g)).toHaveLength(7);
    expect(failover['failover-trials']).toContain('stroke-dasharray');

    const search = extraPlots('search', {
      targets: { hybrid_p95_ms_100k: 20 },
      growth_hybrid_p95_ms: { '10000': { one_tenant: 8, metadata_1pct: 6 }, '100000': { one_tenant: 16, metadata_1pct: 12 } },
      sizes: [
        {
          atoms_per_case_corpus: 100000,
          cases: {
            one_tenant: {
              ef_sweep: [
                { ef_search_setting: 10, vector_recall_at_10: 0.8 },
                { ef_search_setting: 40, vector_recall_at_10: 0.97 },
                { ef_search_setting: 160, vector_recall_at_10: 0.99 },
              ],
            },
            metadata_1pct: {},
          },
        },
      ],
    });
    expect(Object.keys(search).sort()).toEqual(['search-latency', 'search-recall']);
    expect(search['search-latency']?.match(/<polyline /g)).toHaveLength(2);
    expect(search['search-recall']?.match(/<circle /g)).toHaveLength(3);
    // A bench with nothing of the kind has none.
    expect(extraPlots('memory', { add_message: {} })).toEqual({});
  });
});
