/**
 * Watcher's two duration parsers, which disagree, so a watch reads the same
 * on both executors:
 * - every duration string in a watch but the schedule (throttle_period, the
 *   timeouts of inputs, transforms and actions) goes through
 *   WatcherDateTimeUtils.parseTimeValue: case-insensitive units ms, s, m, h,
 *   d, w, fractions allowed, "0" the only bare number, nothing negative;
 * - `trigger.schedule.interval` goes through IntervalSchedule's parser: a
 *   JSON number is seconds, a string is an integer and a lower-case unit s,
 *   m, h, d or w, and at least one second.
 * Written here because they are Watcher's own rules; no library parses them.
 */

/**
 * WatcherDateTimeUtils.parseTimeValueSupportingFractional's suffixes, in the order it tries them ("ms" before "s"
 * and "m"), with the factors it multiplies by one after the other: the double rounding of `12.001w` is Java's.
 */
const TIME_VALUE_UNITS: Array<[string, number[]]> = [
  ['ms', []],
  ['s', [1000]],
  ['m', [60, 1000]],
  ['h', [60, 60, 1000]],
  ['d', [24, 60, 60, 1000]],
  ['w', [7, 24, 60, 60, 1000]],
];

/** Java's Double.parseDouble: surrounding whitespace allowed, no empty string, no hex. */
function javaDouble(text: string): number | undefined {
  const t = text.trim();
  return /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?[fFdD]?$/.test(t) ? Number(t.replace(/[fFdD]$/, '')) : undefined;
}

/** A throttle period or timeout in milliseconds, as Watcher parses the string form (WatcherDateTimeUtils.parseTimeValue). */
export function parseTimeValue(value: string, field = 'duration'): number {
  const where = field ? `${field}: ` : '';
  const lower = value.toLowerCase().trim();
  let millis: number | undefined;
  const unit = TIME_VALUE_UNITS.find(([suffix]) => lower.endsWith(suffix));
  if (unit) {
    const n = javaDouble(lower.slice(0, -unit[0].length));
    // Java's (long) cast of the product truncates toward zero.
    millis = n === undefined ? undefined : Math.trunc(unit[1].reduce((x, f) => x * f, n));
  } else if (lower === '-1') millis = -1;
  else if (lower === '0') millis = 0;
  if (millis === undefined) throw new Error(`${where}"${value}" is not a duration (a number and a unit: ms, s, m, h, d, w; only "0" may go without one)`);
  if (millis < 0) throw new Error(`${where}"${value}": a duration cannot be negative`);
  return millis;
}

/** IntervalSchedule's units, in the order its parser checks the suffix. */
const INTERVAL_UNITS: Array<[string, number]> = [
  ['s', 1000],
  ['m', 60_000],
  ['h', 3_600_000],
  ['d', 86_400_000],
  ['w', 604_800_000],
];

/** A schedule interval in milliseconds, as Watcher's IntervalSchedule parses it. */
export function parseInterval(value: string | number, field = 'interval'): number {
  const where = field ? `${field}: ` : '';
  let millis: number | undefined;
  if (typeof value === 'number') millis = Number.isInteger(value) ? value * 1000 : undefined;
  else {
    const unit = INTERVAL_UNITS.find(([suffix]) => value.endsWith(suffix));
    const digits = unit ? value.slice(0, -1) : '';
    if (unit && /^[+-]?\d+$/.test(digits)) millis = Number(digits) * unit[1];
  }
  if (millis === undefined) throw new Error(`${where}unrecognized interval format [${value}] (an integer and a lower-case unit: s, m, h, d, w; or a number of seconds)`);
  if (millis < 1000) throw new Error(`${where}interval can't be lower than 1000 ms, but [${value}] was specified`);
  return millis;
}
