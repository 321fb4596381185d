/**
 * One frame of `agentmem top` as text: fits 80×24, and says everything in
 * words and signs as well as colour (NO_COLOR, a monochrome terminal, a
 * screen reader lose nothing). Colour comes from picocolors, which honours
 * NO_COLOR and FORCE_COLOR.
 */
import colors from 'picocolors';
import sliceAnsi from 'slice-ansi';
import type { Gathered, TopSample } from '../ops/top-sample.js';

const BARS = '▁▂▃▄▅▆▇█';

/** Latencies as a sparkline scaled to the largest (× for a check with no answer). */
export function sparkline(values: (number | null)[]): string {
  const answered = values.filter((v): v is number => v !== null);
  const max = Math.max(1, ...answered);
  return values.map((v) => (v === null ? '×' : BARS[Math.min(BARS.length - 1, Math.floor((v / max) * (BARS.length - 1)))])).join('');
}

function ago(iso: string, now: number): string {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 120) return `${s} s ago`;
  if (s < 7200) return `${Math.round(s / 60)} min ago`;
  return `${(s / 3600).toFixed(1)} h ago`;
}

const failed = <T>(part: Gathered<T>) => (part.ok ? '' : `— (${part.error})`);

export interface RenderOptions {
  width: number;
  height: number;
  color: boolean;
  intervalMs: number;
  rpoHours: number;
  rtoMinutes: number;
}

export function renderTop(sample: TopSample, options: RenderOptions): string {
  const c = colors.createColors(options.color);
  const now = Date.parse(sample.at);
  const { health } = sample;
  const state =
    health.state === 'healthy' ? c.green('HEALTHY') : health.state === 'degraded' ? c.yellow('DEGRADED') : c.red(c.bold('DOWN'));
  const lines: string[] = [];
  lines.push(
    `${c.bold('agentmem top')}  ${state}  ${sample.at.replace('T', ' ').slice(0, 19)} UTC  every ${options.intervalMs / 1000} s  q quits`,
  );
  lines.push('');
  lines.push(c.dim('PROVIDER     STATE ROLE       LATENCY  LAST CHECKS           BREAKER   POOL'));
  for (const p of health.providers) {
    const name = p.name.slice(0, 12).padEnd(12);
    const up = p.up ? c.green('up   ') : c.red('DOWN ');
    const role = p.role.padEnd(9);
    const ms = p.up && p.probeMs !== null ? `${p.probeMs.toFixed(1)} ms`.padStart(8) : '       —';
    const spark = sparkline(sample.latency[p.name] ?? []).padEnd(20);
    // A breaker no process has recorded (no monitor, no server running here) is unknown: shown as —.
    const breaker = (p.breaker === 'closed' ? p.breaker : p.breaker === 'unknown' ? '—' : p.breaker.toUpperCase()).padEnd(9);
    const pool = p.pool ? `${p.pool.total - p.pool.idle}/${p.pool.total}${p.pool.waiting ? ` ${p.pool.waiting}w` : ''}` : '—';
    lines.push(`${name} ${up} ${role} ${ms}  ${spark}  ${breaker} ${pool}`);
  }
  lines.push(
    `writes go to: ${sample.writer ?? c.red('nowhere (no provider takes writes)')}${sample.fenced.length ? `   fenced: ${sample.fenced.join(', ')}` : ''}`,
  );
  lines.push('');

  const links = health.replication?.links ?? [];
  const lag = links.length
    ? links.map((l) => `${l.source}→${l.target} ${l.lagSeconds} s${l.lagRows ? ` (${l.lagRows} rows)` : ''}`).join('   ')
    : health.providers.length > 1
      ? '— (needs two providers up)'
      : 'one provider: nothing to replicate';
  lines.push(`${c.bold('REPLICATION')}  ${lag}`);

  const e = sample.embeddings;
  const embeddings = e.ok
    ? `embeddings ${e.value.waiting} waiting${e.value.oldestSeconds !== null ? ` (oldest ${e.value.oldestSeconds} s)` : ''}${e.value.failing ? c.red(` ${e.value.failing} failing`) : ''}`
    : `embeddings ${failed(e)}`;
  const f = sample.formation;
  const formation = f.ok
    ? f.value === 'off'
      ? 'formation off'
      : `extraction ${f.value.extraction} sessions  summaries ${f.value.summary}`
    : `formation ${failed(f)}`;
  lines.push(`${c.bold('BACKLOG')}      ${embeddings}   ${formation}`);

  const b = sample.backups;
  let backups: string;
  if (!b.ok) backups = failed(b);
  else {
    const newest = b.value.newestVerifiedAt
      ? `newest verified ${ago(b.value.newestVerifiedAt, now)}`
      : `no verified backup (${b.value.backups} archive(s))`;
    const stale = b.value.stale ? c.red(` STALE (RPO ${options.rpoHours} h)`) : ` (RPO ${options.rpoHours} h)`;
    const d = b.value.drill;
    const drill = d
      ? `  drill ${d.ok ? 'passed' : c.red('FAILED')}${d.rtoSeconds !== null ? ` ${d.rtoSeconds} s` : ''}${sample.drillOverRto ? c.yellow(` over RTO ${options.rtoMinutes} min`) : ''}`
      : '  no drill yet';
    backups = `${newest}${stale}${drill}`;
  }
  lines.push(`${c.bold('BACKUPS')}      ${backups}`);

  const s = sample.sla;
  let sla: string;
  if (!s.ok) sla = failed(s);
  else if (!s.value) sla = 'no health history yet (agentmem monitor keeps it)';
  else {
    const { system, slo } = s.value;
    const pct = (x: number | null) => (x === null ? '—' : `${(x * 100).toFixed(3)}%`);
    const left = system.budgetLeftFraction;
    const budget = `budget left ${Math.round(left * 100)}%`;
    sla = `${pct(system.availability)} (SLO ${pct(slo)})  ${left <= 0 ? c.red(budget) : left < 0.25 ? c.yellow(budget) : budget}${system.burnRate1h !== null ? `  burn 1h ${system.burnRate1h.toFixed(2)}` : ''}`;
  }
  lines.push(`${c.bold('SLA 30 d')}     ${sla}`);

  if (health.reasons.length) {
    lines.push('');
    for (const reason of health.reasons) lines.push(c.yellow(`- ${reason}`));
  }
  // The frame fits the terminal: each line cut to its width (colour codes not counted), and to its height.
  return lines
    .slice(0, Math.max(1, options.height - 1))
    .map((line) => sliceAnsi(line, 0, options.width))
    .join('\n');
}
