import type { HealthSample } from './health-history.js';

export interface Availability {
  /** Fraction of observed time available (1 = always), null with no samples. */
  availability: number | null;
  observedSeconds: number;
  downSeconds: number;
}

export interface SlaReport {
  from: string;
  to: string;
  days: number;
  slo: number;
  samples: number;
  /** Writes possible: at least one provider up and taking writes. */
  system: Availability & {
    /** Error budget for the window (seconds of allowed unavailability) and what is left of it. */
    budgetSeconds: number;
    budgetLeftSeconds: number;
    budgetLeftFraction: number;
    /** How fast the budget burns over the last hour: 1 spends exactly the budget over the window. */
    burnRate1h: number | null;
  };
  providers: Record<string, Availability>;
}

/**
 * Availability from health samples, time-weighted: each sample stands for its
 * check interval. Time with no samples (the monitor was not running) counts
 * neither way — the report says how much time it observed.
 */
export function computeSla(samples: HealthSample[], options: { days: number; slo: number; now?: Date }): SlaReport {
  const now = options.now ?? new Date();
  const from = new Date(now.getTime() - options.days * 86_400_000);
  const inWindow = samples.filter((s) => new Date(s.at) >= from && new Date(s.at) <= now);
  const system = availability(inWindow, (s) => s.writable);
  const windowSeconds = options.days * 86_400;
  const budgetSeconds = windowSeconds * (1 - options.slo);
  const lastHour = availability(
    inWindow.filter((s) => new Date(s.at) >= new Date(now.getTime() - 3_600_000)),
    (s) => s.writable,
  );
  const names = [...new Set(inWindow.flatMap((s) => Object.keys(s.providers)))];
  return {
    from: from.toISOString(),
    to: now.toISOString(),
    days: options.days,
    slo: options.slo,
    samples: inWindow.length,
    system: {
      ...system,
      budgetSeconds: round(budgetSeconds),
      budgetLeftSeconds: round(budgetSeconds - system.downSeconds),
      budgetLeftFraction: round((budgetSeconds - system.downSeconds) / budgetSeconds, 4),
      burnRate1h: lastHour.availability === null ? null : round((1 - lastHour.availability) / (1 - options.slo), 3),
    },
    providers: Object.fromEntries(
      names.map((name) => [
        name,
        availability(
          inWindow,
          (s) => s.providers[name] === true,
          (s) => name in s.providers,
        ),
      ]),
    ),
  };
}

function availability(
  samples: HealthSample[],
  up: (s: HealthSample) => boolean,
  counts: (s: HealthSample) => boolean = () => true,
): Availability {
  let observed = 0;
  let down = 0;
  for (const s of samples) {
    if (!counts(s)) continue;
    observed += s.intervalSeconds;
    if (!up(s)) down += s.intervalSeconds;
  }
  return {
    availability: observed ? round((observed - down) / observed, 6) : null,
    observedSeconds: round(observed),
    downSeconds: round(down),
  };
}

const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;
