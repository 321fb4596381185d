/**
 * The plots of docs/benchmarks.md that are not ratios against a baseline:
 * each failover trial's time against the target (a distribution, not one
 * figure), search latency as the corpus grows, and vector recall against
 * HNSW's ef_search. Plain SVG, written by `npm run docs` beside the page.
 */

const number = (n: number) => (Number.isInteger(n) ? n.toLocaleString('en-US') : String(Number(n.toPrecision(3))));
const COLORS = ['#1b6ca8', '#c0392b', '#27ae60', '#8e44ad', '#d35400', '#16a085'];

function frame(width: number, height: number, title: string, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="10" y="18" font-size="13" font-weight="bold">${title}</text>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

/** Each trial a dot on a time axis, one row per fault, the target a dashed line (left is faster). */
export function distributionPlot(title: string, series: { label: string; values: number[]; target?: number }[]): string {
  const width = 640;
  const left = 150;
  const rowHeight = 34;
  const height = 40 + series.length * rowHeight + 30;
  const top = Math.max(...series.flatMap((s) => [...s.values, s.target ?? 0])) * 1.1;
  const x = (v: number) => left + ((width - left - 20) * v) / top;
  const step = top > 2000 ? 500 : top > 800 ? 200 : top > 200 ? 50 : 10;
  const ticks = Array.from({ length: Math.floor(top / step) + 1 }, (_, i) => i * step);
  const body = [
    ...ticks.map(
      (v) =>
        `<line x1="${x(v)}" x2="${x(v)}" y1="30" y2="${height - 24}" stroke="#eee"/><text x="${x(v)}" y="${height - 8}" text-anchor="middle" font-size="11">${number(v)} ms</text>`,
    ),
    ...series.flatMap((s, i) => {
      const y = 40 + i * rowHeight + rowHeight / 2;
      return [
        `<text x="${left - 8}" y="${y + 4}" text-anchor="end" font-size="12">${s.label}</text>`,
        ...(s.target === undefined
          ? []
          : [`<line x1="${x(s.target)}" x2="${x(s.target)}" y1="${y - 13}" y2="${y + 13}" stroke="#c0392b" stroke-dasharray="4 3"/>`]),
        ...s.values.map(
          (v, k) => `<circle cx="${x(v)}" cy="${y + ((k % 3) - 1) * 5}" r="3.5" fill="${COLORS[i % COLORS.length]}" fill-opacity="0.7"/>`,
        ),
      ];
    }),
  ];
  return frame(width, height, `${title} (a dot per trial; dashed: target)`, body);
}

/** Lines through points (x, y) per series, x on a log scale when it spans more than 10×. */
export function linePlot(
  title: string,
  axes: { x: string; y: string },
  series: { label: string; points: { x: number; y: number }[] }[],
  options: { yFrom?: number; target?: number } = {},
): string {
  const width = 640;
  const height = 320;
  const [left, right, top, bottom] = [60, 170, 34, 40];
  const xs = series.flatMap((s) => s.points.map((p) => p.x));
  const ys = series.flatMap((s) => s.points.map((p) => p.y));
  const [xMin, xMax] = [Math.min(...xs), Math.max(...xs)];
  const log = xMax / Math.max(xMin, 1e-9) > 10;
  const tx = (v: number) => (log ? Math.log10(v) : v);
  const yLow = options.yFrom ?? 0;
  const yHigh = Math.max(...ys, options.target ?? 0) * (options.yFrom === undefined ? 1.1 : 1) || 1;
  const x = (v: number) => left + ((width - left - right) * (tx(v) - tx(xMin))) / Math.max(1e-9, tx(xMax) - tx(xMin));
  const y = (v: number) => height - bottom - ((height - top - bottom) * (v - yLow)) / Math.max(1e-9, yHigh - yLow);
  const xTicks = [...new Set(xs)].sort((a, b) => a - b);
  const yTicks = Array.from({ length: 5 }, (_, i) => yLow + ((yHigh - yLow) * i) / 4);
  const body = [
    ...yTicks.map(
      (v) =>
        `<line x1="${left}" x2="${width - right}" y1="${y(v)}" y2="${y(v)}" stroke="#eee"/><text x="${left - 6}" y="${y(v) + 4}" text-anchor="end" font-size="11">${number(v)}</text>`,
    ),
    ...xTicks.map((v) => `<text x="${x(v)}" y="${height - bottom + 16}" text-anchor="middle" font-size="11">${number(v)}</text>`),
    `<text x="${(left + width - right) / 2}" y="${height - 6}" text-anchor="middle" font-size="12">${axes.x}</text>`,
    `<text x="14" y="${(top + height - bottom) / 2}" font-size="12" transform="rotate(-90 14 ${(top + height - bottom) / 2})" text-anchor="middle">${axes.y}</text>`,
    ...(options.target === undefined
      ? []
      : [
          `<line x1="${left}" x2="${width - right}" y1="${y(options.target)}" y2="${y(options.target)}" stroke="#c0392b" stroke-dasharray="5 3"/>`,
        ]),
    ...series.flatMap((s, i) => {
      const color = COLORS[i % COLORS.length];
      const points = [...s.points].sort((a, b) => a.x - b.x);
      return [
        `<polyline fill="none" stroke="${color}" stroke-width="2" points="${points.map((p) => `${x(p.x)},${y(p.y)}`).join(' ')}"/>`,
        ...points.map((p) => `<circle cx="${x(p.x)}" cy="${y(p.y)}" r="3" fill="${color}"/>`),
        `<rect x="${width - right + 12}" y="${top + i * 18}" width="10" height="10" fill="${color}"/>`,
        `<text x="${width - right + 26}" y="${top + i * 18 + 9}" font-size="11">${s.label}</text>`,
      ];
    }),
  ];
  return frame(width, height, title, body);
}

type Json = Record<string, unknown>;

/** The plots a recorded result has besides its ratios: file stem → SVG. */
export function extraPlots(bench: string, result: Json): Record<string, string> {
  const plots: Record<string, string> = {};
  if (bench === 'failover') {
    const series = (['sigkill', 'sigstop'] as const).flatMap((fault) => {
      const d = (result[fault] as Json | undefined)?.to_first_write_on_next_ms as { sittings?: number[]; target?: number } | undefined;
      return d?.sittings?.length
        ? [
            {
              label: `${fault === 'sigkill' ? 'SIGKILL' : 'SIGSTOP'} of the primary`,
              values: d.sittings,
              ...(d.target ? { target: d.target } : {}),
            },
          ]
        : [];
    });
    if (series.length) plots[`${bench}-trials`] = distributionPlot('Failover: fault to first write on the next provider', series);
  }
  if (bench === 'search') {
    const growth = result.growth_hybrid_p95_ms as Record<string, Record<string, number>> | undefined;
    if (growth && Object.keys(growth).length > 1) {
      const cases = [...new Set(Object.values(growth).flatMap((c) => Object.keys(c)))];
      plots[`${bench}-latency`] = linePlot(
        'Hybrid search p95 as the corpus grows (dashed: the 100k target)',
        { x: 'atoms', y: 'p95 ms' },
        cases.map((name) => ({
          label: name.replace(/_/g, ' '),
          points: Object.entries(growth).flatMap(([size, c]) => (c[name] === undefined ? [] : [{ x: Number(size), y: c[name] as number }])),
        })),
        { target: ((result.targets as Json | undefined)?.hybrid_p95_ms_100k as number | undefined) ?? 20 },
      );
    }
    const sweeps = ((result.sizes as Json[] | undefined) ?? []).flatMap((size) =>
      Object.entries((size.cases as Record<string, Json>) ?? {}).flatMap(([name, c]) =>
        Array.isArray(c.ef_sweep)
          ? [
              {
                label: `${name.replace(/_/g, ' ')}, ${number(size.atoms_per_case_corpus as number)}`,
                points: (c.ef_sweep as { ef_search_setting: number; vector_recall_at_10: number }[]).map((p) => ({
                  x: p.ef_search_setting,
                  y: p.vector_recall_at_10,
                })),
              },
            ]
          : [],
      ),
    );
    if (sweeps.length)
      plots[`${bench}-recall`] = linePlot(
        'Vector recall@10 against HNSW ef_search (dashed: the 0.95 target)',
        { x: 'search.efSearch', y: 'recall@10' },
        sweeps,
        { yFrom: Math.min(0.9, ...sweeps.flatMap((s) => s.points.map((p) => p.y))), target: 0.95 },
      );
  }
  return plots;
}
