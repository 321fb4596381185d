/** Where a long backup, restore or verification has got to (for a progress bar, or JSON Lines with --json). */
export interface TransferProgress {
  phase: 'backup' | 'restore' | 'verify';
  table: string;
  /** Rows done so far (all tables) and the rows expected in all (0: unknown). */
  rows: number;
  totalRows: number;
  bytes: number;
  elapsedMs: number;
}

export type ProgressListener = (progress: TransferProgress) => void;

/** Counts rows and reports at most every `everyMs` (and always at a table's end). */
export class ProgressMeter {
  private readonly started = performance.now();
  private last = 0;
  rows = 0;
  bytes = 0;

  constructor(
    private readonly phase: TransferProgress['phase'],
    public totalRows: number,
    private readonly listener: ProgressListener | undefined,
    private readonly everyMs = 500,
  ) {}

  add(table: string, rows: number, bytes: number, force = false): void {
    this.rows += rows;
    this.bytes += bytes;
    if (!this.listener) return;
    const now = performance.now();
    if (!force && now - this.last < this.everyMs) return;
    this.last = now;
    this.listener({
      phase: this.phase,
      table,
      rows: this.rows,
      totalRows: this.totalRows,
      bytes: this.bytes,
      elapsedMs: Math.round(now - this.started),
    });
  }
}

/** The number of COPY text rows in a chunk: each row ends with a newline (newlines inside values are escaped). */
export function countRows(chunk: Buffer): number {
  let rows = 0;
  for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) rows++;
  return rows;
}
