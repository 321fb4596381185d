import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { HealthReport, HealthState } from './health.js';

/** One health check as kept for SLA accounting. */
export interface HealthSample {
  at: string;
  state: HealthState;
  /** Writes possible: some provider was up and took writes (no blocking drift). */
  writable: boolean;
  providers: Record<string, boolean>;
  /** Seconds this sample stands for (the check interval). */
  intervalSeconds: number;
}

export function sampleOf(report: HealthReport, intervalSeconds: number): HealthSample {
  return {
    at: report.checkedAt,
    state: report.state,
    writable: report.providers.some((p) => p.up && p.testQuery.ok && !p.drift?.blocking),
    providers: Object.fromEntries(report.providers.map((p) => [p.name, p.up && p.testQuery.ok])),
    intervalSeconds,
  };
}

/**
 * Health history as JSON Lines in a local file: it must keep recording when
 * every database is down, which is exactly when it matters. Samples older than
 * the retention are dropped when the file is compacted (once a day of samples).
 */
export class HealthHistory {
  private appended = 0;

  constructor(
    private readonly file: string,
    private readonly retentionDays: number,
  ) {}

  append(sample: HealthSample): void {
    mkdirSync(dirname(this.file), { recursive: true });
    appendFileSync(this.file, `${JSON.stringify(sample)}\n`);
    if (++this.appended % 1440 === 1) this.compact();
  }

  /** Samples at or after `since`, oldest first; lines that do not parse are skipped. */
  read(since = new Date(0)): HealthSample[] {
    if (!existsSync(this.file)) return [];
    const out: HealthSample[] = [];
    for (const line of readFileSync(this.file, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        const sample = JSON.parse(line) as HealthSample;
        if (new Date(sample.at) >= since) out.push(sample);
      } catch {
        /* a torn last line after a crash */
      }
    }
    return out;
  }

  compact(): void {
    const keep = this.read(new Date(Date.now() - this.retentionDays * 86_400_000));
    const temporary = `${this.file}.tmp`;
    writeFileSync(temporary, keep.map((s) => `${JSON.stringify(s)}\n`).join(''));
    renameSync(temporary, this.file);
  }
}
