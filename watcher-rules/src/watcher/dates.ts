/**
 * A point in time in Watcher's execution context (ctx.execution_time,
 * ctx.trigger.*, a resolved `<{now-5m}>`). It renders the way Watcher's
 * ZonedDateTime does in a template (java.time's toString: seconds and
 * fractions only when non-zero), so a rendered query is the same text on both
 * executors, and it compares as a date in conditions.
 */
export class WatcherDate {
  constructor(readonly ms: number) {}

  toString(): string {
    return javaIsoString(this.ms);
  }

  toJSON(): string {
    return this.toString();
  }

  valueOf(): number {
    return this.ms;
  }
}

export function javaIsoString(ms: number): string {
  const iso = new Date(ms).toISOString(); // yyyy-mm-ddThh:mm:ss.sssZ
  const [hhmm, ss, millis] = [iso.slice(0, 16), iso.slice(17, 19), iso.slice(20, 23)];
  if (millis !== '000') return `${hhmm}:${ss}.${millis}Z`;
  if (ss !== '00') return `${hhmm}:${ss}Z`;
  return `${hhmm}Z`;
}

/**
 * How Watcher writes a date into JSON (the execution record, the watch
 * status, a resolved `<{…}>` value): the default date formatter,
 * strict_date_optional_time, which always prints milliseconds.
 */
export const formatDate = (ms: number): string => new Date(ms).toISOString();

/** java.time's ISO_DATE_TIME, which execution ids end with: seconds always, the fraction without trailing zeros. */
export function isoDateTime(ms: number): string {
  const iso = new Date(ms).toISOString();
  const fraction = iso.slice(20, 23).replace(/0+$/, '');
  return `${iso.slice(0, 19)}${fraction ? `.${fraction}` : ''}Z`;
}

const STRICT_DATE_OPTIONAL_TIME = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2})(?::(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?)?)?$/;

/**
 * Watcher's date parser for compared values, the default date format
 * `strict_date_optional_time||epoch_millis`: an ISO date with optional time
 * (`T` only, zone-less is UTC), else a string of epoch milliseconds. A space
 * between date and time matches neither, so such a value is not a date.
 */
export function parseDate(text: string): WatcherDate | null {
  const m = STRICT_DATE_OPTIONAL_TIME.exec(text);
  if (m) {
    const [year, month, day, hour, minute, second] = [1, 2, 3, 4, 5, 6].map((i, k) => (m[i] === undefined ? (k === 1 || k === 2 ? 1 : 0) : Number(m[i])));
    const millis = Number((m[7] ?? '').padEnd(3, '0').slice(0, 3));
    if (month! < 1 || month! > 12 || hour! > 23 || minute! > 59 || second! > 59) return null;
    const utc = Date.UTC(year!, month! - 1, day!, hour!, minute!, second!, millis);
    // Date.UTC rolls 31 February into March; the format does not.
    if (new Date(utc).getUTCDate() !== day) return null;
    const zone = m[8];
    if (!zone || zone === 'Z') return new WatcherDate(utc);
    const z = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone)!;
    const offset = (Number(z[2]) * 60 + Number(z[3] ?? 0)) * 60_000;
    return new WatcherDate(z[1] === '+' ? utc - offset : utc + offset);
  }
  if (/^-?\d+(\.\d+)?$/.test(text)) return new WatcherDate(Math.trunc(Number(text)));
  return null;
}

const UNIT_MS: Record<string, number> = { w: 604_800_000, d: 86_400_000, h: 3_600_000, H: 3_600_000, m: 60_000, s: 1000 };

/**
 * Elasticsearch date math (`now-5m`, `now/d`, `2024-01-01||+1M/M`), in UTC as
 * Watcher evaluates it. Written here because the one JS implementation
 * (@elastic/datemath) rounds in the process's local time zone through moment.
 */
export function parseDateMath(expr: string, now: number): WatcherDate {
  let anchor: number;
  let rest: string;
  if (expr.startsWith('now')) {
    anchor = now;
    rest = expr.slice(3);
  } else {
    const sep = expr.indexOf('||');
    const text = sep === -1 ? expr : expr.slice(0, sep);
    const parsed = parseDate(text);
    if (!parsed) throw new Error(`date math "${expr}": cannot parse "${text}" as a date`);
    anchor = parsed.ms;
    rest = sep === -1 ? '' : expr.slice(sep + 2);
  }
  const d = new Date(anchor);
  const re = /([+-])(\d*)([yMwdhHms])|\/([yMwdhHms])/gy;
  let m: RegExpExecArray | null;
  let consumed = 0;
  while ((m = re.exec(rest))) {
    consumed = re.lastIndex;
    if (m[4]) roundDown(d, m[4]);
    else {
      const n = (m[1] === '-' ? -1 : 1) * (m[2] === '' ? 1 : Number(m[2]));
      const unit = m[3]!;
      if (unit === 'y') d.setUTCFullYear(d.getUTCFullYear() + n);
      else if (unit === 'M') d.setUTCMonth(d.getUTCMonth() + n);
      else d.setTime(d.getTime() + n * UNIT_MS[unit]!);
    }
  }
  if (consumed !== rest.length) throw new Error(`date math "${expr}": cannot parse "${rest.slice(consumed)}"`);
  return new WatcherDate(d.getTime());
}

function roundDown(d: Date, unit: string): void {
  switch (unit) {
    case 'y':
      d.setUTCMonth(0, 1);
      d.setUTCHours(0, 0, 0, 0);
      return;
    case 'M':
      d.setUTCDate(1);
      d.setUTCHours(0, 0, 0, 0);
      return;
    case 'w': {
      // ISO weeks start on Monday.
      const back = (d.getUTCDay() + 6) % 7;
      d.setUTCDate(d.getUTCDate() - back);
      d.setUTCHours(0, 0, 0, 0);
      return;
    }
    case 'd':
      d.setUTCHours(0, 0, 0, 0);
      return;
    case 'h':
    case 'H':
      d.setUTCMinutes(0, 0, 0);
      return;
    case 'm':
      d.setUTCSeconds(0, 0);
      return;
    case 's':
      d.setUTCMilliseconds(0);
      return;
  }
}
