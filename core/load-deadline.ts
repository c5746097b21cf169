// How long an instance may take to load before it counts as stuck: learned from the group's past
// load times, bounded so one fast sample cannot kill a slow-but-healthy load and a hung host is
// never waited on for ever. Pure.

export interface DeadlineBounds {
  /** Never less than this many seconds. */
  floorS: number;
  /** Never more; also the deadline while nothing has been learned. */
  ceilingS: number;
  /** Multiple of the group's 90th-percentile load time. */
  factor: number;
}

export const DEFAULT_DEADLINE: DeadlineBounds = { floorS: 300, ceilingS: 3600, factor: 2 };

/** Load times kept per group (the newest ones). */
export const LOAD_TIME_HISTORY = 16;

export function quantile(values: readonly number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const pos = Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1));
  return s[pos]!;
}

/** Seconds an instance of this group may spend between creation and ready. */
export function loadDeadlineS(loadTimesS: readonly number[], bounds: DeadlineBounds = DEFAULT_DEADLINE): number {
  const samples = loadTimesS.filter((t) => Number.isFinite(t) && t >= 0);
  if (samples.length === 0) return bounds.ceilingS;
  const learned = bounds.factor * quantile(samples, 0.9);
  return Math.min(bounds.ceilingS, Math.max(bounds.floorS, learned));
}

/** Adds a sample, keeping the newest LOAD_TIME_HISTORY. */
export function recordLoadTime(history: readonly number[], seconds: number): number[] {
  return [...history, seconds].slice(-LOAD_TIME_HISTORY);
}
