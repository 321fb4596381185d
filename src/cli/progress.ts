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
