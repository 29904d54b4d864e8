import { WatcherDate, parseDate } from './dates.js';

/** How Watcher prints a value where it needs a string (String.valueOf of the parsed JSON). */
export function javaString(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return `[${v.map(javaString).join(', ')}]`;
  if (v instanceof WatcherDate) return v.toString();
  if (typeof v === 'object') return `{${Object.entries(v).map(([k, x]) => `${k}=${javaString(x)}`).join(', ')}}`;
  return String(v);
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a === 'number' && typeof b === 'number') return Number.isNaN(a) && Number.isNaN(b);
  if (a instanceof WatcherDate || b instanceof WatcherDate) return a instanceof WatcherDate && b instanceof WatcherDate && a.ms === b.ms;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  }
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && deepEqual((a as never)[k], (b as never)[k]));
  }
  return false;
}

/** Java's Double.valueOf(String): surrounding whitespace is allowed, an empty or non-numeric string is not a number. */
function javaDouble(text: string): number | null {
  const t = text.trim();
  if (t === '' || !/^[+-]?(NaN|Infinity|(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?[fFdD]?)$/.test(t)) return null;
  return Number(t.replace(/[fFdD]$/, ''));
}

const sign = (x: number) => (x > 0 ? 1 : x < 0 ? -1 : 0);

/**
 * Watcher's LenientCompare: the configured value (v2) decides how to compare.
 * A number compares numerically (the observed value is parsed if it is a
 * string), a string compares as strings, a date as dates (an observed string
 * is parsed, a number is epoch millis). null means "not comparable": every
 * ordering operator is then false and not_eq is true.
 */
export function lenientCompare(v1: unknown, v2: unknown): number | null {
  v1 ??= null;
  v2 ??= null;
  if (deepEqual(v1, v2)) return 0;
  if (v1 === null || v2 === null) return null;
  if ((typeof v1 === 'number' && Number.isNaN(v1)) || (typeof v2 === 'number' && Number.isNaN(v2))) return null;
  if (typeof v2 === 'number') {
    const n = typeof v1 === 'number' ? v1 : typeof v1 === 'string' ? javaDouble(v1) : javaDouble(javaString(v1));
    return n === null || Number.isNaN(n) ? null : sign(n - v2);
  }
  if (typeof v2 === 'string') {
    const s = javaString(v1);
    return s < v2 ? -1 : s > v2 ? 1 : 0;
  }
  if (v2 instanceof WatcherDate) {
    const d = v1 instanceof WatcherDate ? v1 : typeof v1 === 'string' ? parseDate(v1) : typeof v1 === 'number' ? new WatcherDate(v1) : null;
    return d === null ? null : sign(d.ms - v2.ms);
  }
  // Booleans, maps and lists that are not equal have no order.
  return null;
}
