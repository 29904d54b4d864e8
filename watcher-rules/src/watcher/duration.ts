/**
 * Watcher's durations: TimeValue strings (`500ms`, `10s`, `5m`, `1h`, `2d`)
 * for throttle periods and timeouts, plus the `w` unit its interval schedules
 * accept. A bare number is milliseconds, as TimeValue reads it in `*_in_millis`.
 */
const UNITS: Record<string, number> = {
  nanos: 1e-6,
  micros: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

export function parseDuration(value: string | number, field = 'duration'): number {
  if (typeof value === 'number') return value;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(nanos|micros|ms|s|m|h|d|w)?\s*$/.exec(value);
  if (!m) throw new Error(`${field ? `${field}: ` : ''}"${value}" is not a duration (a number and a unit: ms, s, m, h, d, w)`);
  return Number(m[1]) * UNITS[m[2] ?? 'ms']!;
}
