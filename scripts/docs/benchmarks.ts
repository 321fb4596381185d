/**
 * docs/benchmarks.md, generated from the results `npm run bench -- --record`
 * keeps in bench/results/ (each naming the machine, its cores and the day):
 * one table per bench of its current figures, and for each bench that
 * measures throughput against a baseline, a plot of those ratios (each
 * sitting's spread, the median marked, the target drawn); and the plots of
 * bench-plots.ts (failover trials, search latency by corpus size, recall by
 * ef_search). `npm run docs` writes it; a test fails when it is stale.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { extraPlots } from './bench-plots.js';

const ROOT = join(import.meta.dirname, '../..');
export const RESULTS = join(ROOT, 'bench/results');

interface Recorded {
  bench: string;
  recordedAt: string;
  machine: { cpu: string; cores: number; memoryGb: number; os: string };
  node: string;
  result: Record<string, unknown>;
}
type Spread = { min: number; median: number; max: number; target?: number };
interface Row {
  metric: string;
  value: string;
  target: string;
  holds: string;
  spread?: Spread;
}

const isSpread = (v: unknown): v is Spread =>
  typeof v === 'object' && v !== null && ['min', 'median', 'max'].every((k) => typeof (v as Record<string, unknown>)[k] === 'number');

/** Higher is better for ratios, rates and recall; lower for times and sizes. */
const higherIsBetter = (metric: string) => /ratio|per_second|per_s\b|rows_s|recall|throughput/i.test(metric);

const number = (n: number) => (Number.isInteger(n) ? n.toLocaleString('en-US') : String(Number(n.toPrecision(4))));

function rows(value: unknown, path: string, out: Row[]): void {
  if (isSpread(value)) {
    const target = value.target;
    const worst = higherIsBetter(path) ? value.min : value.max;
    const holds = target === undefined ? '' : (higherIsBetter(path) ? worst >= target : worst <= target) ? 'yes' : '**no**';
    out.push({
      metric: path,
      value: `${number(value.min)} – ${number(value.median)} – ${number(value.max)}`,
      target: target === undefined ? '' : `${higherIsBetter(path) ? '≥' : '≤'} ${number(target)}`,
      holds,
      spread: value,
    });
    return;
  }
  if (Array.isArray(value)) return; // each sitting's figure: the spread above says it
  if (value && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) if (key !== 'target') rows(inner, path ? `${path}.${key}` : key, out);
    return;
  }
  // A ratio measured once (no sittings) is plotted as a point.
  const ratio = /ratio/.test(path) && !/target/.test(path);
  if (typeof value === 'number')
    out.push({
      metric: path,
      value: number(value),
      target: '',
      holds: '',
      ...(ratio ? { spread: { min: value, median: value, max: value } } : {}),
    });
  else if (typeof value === 'string' || typeof value === 'boolean') out.push({ metric: path, value: String(value), target: '', holds: '' });
}

/** A ratio's name on its plot: what was measured (the plot says these are ratios), its last words if long. */
const label = (metric: string) => {
  const words = metric.replace(/[._]?(throughput_)?ratio(_vs_[a-z_]+)?$/, '').replace(/[._]/g, ' ');
  return words.length > 44 ? `…${words.slice(-43)}` : words;
};

/** A plot of a bench's ratios: each a bar from its worst sitting to its best, the median marked, the target a dashed line. */
function ratioPlot(title: string, ratios: Row[]): string {
  const width = 640;
  const left = 300;
  const barHeight = 22;
  const height = 40 + ratios.length * (barHeight + 8) + 24;
  const top = Math.max(1.2, ...ratios.map((r) => (r.spread as Spread).max)) * 1.1;
  const x = (v: number) => left + ((width - left - 90) * v) / top; // room on the right for each bar's figures
  const bars = ratios.map((r, i) => {
    const s = r.spread as Spread;
    const y = 36 + i * (barHeight + 8);
    return [
      `<text x="${left - 8}" y="${y + 15}" text-anchor="end" font-size="12">${label(r.metric)}</text>`,
      `<rect x="${x(s.min)}" y="${y}" width="${Math.max(2, x(s.max) - x(s.min))}" height="${barHeight}" fill="#7aa6d8"/>`,
      `<line x1="${x(s.median)}" x2="${x(s.median)}" y1="${y - 2}" y2="${y + barHeight + 2}" stroke="#1b3a5c" stroke-width="3"/>`,
      `<text x="${x(s.max) + 6}" y="${y + 15}" font-size="11">${s.min === s.max ? number(s.min) : `${number(s.min)}–${number(s.max)}`}</text>`,
    ].join('');
  });
  const axis = (top > 3 ? [0, 1, 2, 3, 4, 5, 6, 8, 10] : [0, 0.5, 1, 1.5, 2, 2.5, 3])
    .filter((v) => v <= top)
    .map(
      (v) =>
        `<line x1="${x(v)}" x2="${x(v)}" y1="30" y2="${height - 20}" stroke="${v === 1 ? '#c0392b' : '#ddd'}"${v === 1 ? ' stroke-dasharray="5 3"' : ''}/><text x="${x(v)}" y="${height - 6}" text-anchor="middle" font-size="11">${v}×</text>`,
    );
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="10" y="18" font-size="13" font-weight="bold">${title}: agentmem against its baseline (1× = as fast; right is faster)</text>`,
    ...axis,
    ...bars,
    '</svg>',
    '',
  ].join('\n');
}

export function recordedResults(dir = RESULTS): Recorded[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as Recorded);
}

/** The page and its plots (file name → SVG), from the recorded results. */
export function benchmarksMarkdown(results: Recorded[] = recordedResults()): { markdown: string; plots: Record<string, string> } {
  const plots: Record<string, string> = {};
  const parts = [
    '# Benchmarks',
    '',
    '<!-- Generated by `npm run docs` from bench/results/*.json (`npm run bench -- NAME --record`); edit neither by hand. -->',
    '',
    'Each bench starts its own servers, measures agentmem and a baseline doing the same work in the same run',
    '(alternating which goes first), and repeats in sittings. A figure is min – median – max over the sittings;',
    'a target holds when the worst sitting holds it (the lowest ratio, the highest time). How each is measured',
    'is written at the top of its file in `bench/`.',
    '',
  ];
  for (const recorded of results) {
    const table: Row[] = [];
    rows(recorded.result, '', table);
    const m = recorded.machine;
    parts.push(
      `## ${recorded.bench}`,
      '',
      `Recorded ${recorded.recordedAt.slice(0, 10)} on ${m.cpu} (${m.cores} cores, ${m.memoryGb} GB), ${m.os}, Node ${recorded.node}.`,
      '',
    );
    const ratios = table.filter((r) => r.spread && /ratio/.test(r.metric));
    if (ratios.length) {
      const file = `benchmarks/${recorded.bench}.svg`;
      plots[file] = ratioPlot(recorded.bench, ratios);
      parts.push(`![${recorded.bench}: ratios against the baseline](${file})`, '');
    }
    for (const [stem, svg] of Object.entries(extraPlots(recorded.bench, recorded.result))) {
      plots[`benchmarks/${stem}.svg`] = svg;
      parts.push(`![${stem.replace(/-/g, ': ')}](benchmarks/${stem}.svg)`, '');
    }
    parts.push('| measure | value | target | holds |', '|---|---|---|---|');
    for (const r of table.filter((r) => r.metric !== 'bench')) parts.push(`| ${r.metric} | ${r.value} | ${r.target} | ${r.holds} |`);
    parts.push('');
  }
  return { markdown: `${parts.join('\n').trimEnd()}\n`, plots };
}
