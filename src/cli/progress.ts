import type { TransferProgress } from '../backup/index.js';
import { out } from './output.js';

/**
 * Progress of a backup or restore: a bar with rows/s and ETA on stderr, or
 * with --json one JSON line per update on stderr (stdout keeps the result).
 */
export function transferProgress(flags: { json?: boolean }): (p: TransferProgress) => void {
  return (p) => {
    const seconds = p.elapsedMs / 1000;
    const rate = seconds > 0 ? p.rows / seconds : 0;
    const eta = p.totalRows > p.rows && rate > 0 ? (p.totalRows - p.rows) / rate : 0;
    if (flags.json) {
      process.stderr.write(`${JSON.stringify({ progress: { ...p, rowsPerSecond: Math.round(rate), etaSeconds: Math.round(eta) } })}\n`);
      return;
    }
    out.progress(p.rows, Math.max(p.totalRows, p.rows), `${p.phase} ${p.table}  ${Math.round(rate)} rows/s  ETA ${Math.round(eta)} s`);
  };
}

/** Rate and time left of work `done` of `total` begun at `started` (ms), for the lines below. */
function pace(started: number, done: number, total: number | undefined) {
  const seconds = (performance.now() - started) / 1000;
  const perSecond = Math.round(done / Math.max(seconds, 0.001));
  const etaSeconds = total !== undefined && total > done && done > 0 ? Math.round((seconds * (total - done)) / done) : undefined;
  return { perSecond, etaSeconds };
}

/**
 * Progress of counted work (`done` of `total`) on stderr, stdout staying for
 * the result: a bar with the rate and the time left, redrawn in place on a
 * terminal; with --json one JSON line per update, as transferProgress writes.
 * At most twice a second, and always at the end.
 */
export function countProgress(flags: { json?: boolean }, label: string): (done: number, total: number) => void {
  const started = performance.now();
  let last = 0;
  return (done, total) => {
    const now = performance.now();
    if (done < total && now - last < 500) return;
    last = now;
    const { perSecond, etaSeconds } = pace(started, done, total);
    if (flags.json) {
      process.stderr.write(
        `${JSON.stringify({ progress: { label, done, total, perSecond, ...(etaSeconds === undefined ? {} : { etaSeconds }) } })}\n`,
      );
      return;
    }
    out.progress(done, total, `${label}  ${perSecond}/s${etaSeconds === undefined ? '' : `  ETA ${etaSeconds} s`}`);
  };
}

/**
 * Progress of work whose total is not known until it ends (a file read as it
 * streams): how many so far, the rate, and the time left from the share of
 * the input read (`part` of `whole`, such as bytes) when that is known.
 * Redrawn in place on a terminal, one line each otherwise; JSON lines with
 * --json. `final` prints the last line, whatever the time since the one before.
 */
export function streamProgress(
  flags: { json?: boolean },
  label: string,
  whole?: number,
): (done: number, part: number, final?: boolean) => void {
  const started = performance.now();
  let last = 0;
  return (done, part, final = false) => {
    const now = performance.now();
    if (!final && now - last < 500) return;
    last = now;
    const perSecond = pace(started, done, undefined).perSecond;
    const etaSeconds = !final && whole && part > 0 ? pace(started, part, whole).etaSeconds : undefined;
    if (flags.json) {
      process.stderr.write(
        `${JSON.stringify({ progress: { label, done, perSecond, ...(etaSeconds === undefined ? {} : { etaSeconds }), final } })}\n`,
      );
      return;
    }
    out.status(`${label}: ${done} (${perSecond}/s${etaSeconds === undefined ? '' : `, about ${etaSeconds} s left`})`, final);
  };
}

/** countProgress for work in steps, each with its own label (its rate and time left are its own). */
export function stepProgress(flags: { json?: boolean }): (done: number, total: number, step: string) => void {
  const reporters = new Map<string, (done: number, total: number) => void>();
  return (done, total, step) => {
    let report = reporters.get(step);
    if (!report) {
      report = countProgress(flags, step);
      reporters.set(step, report);
    }
    report(done, total);
  };
}
