import { evalPath } from './object-path.js';
import { lenientCompare } from './compare.js';
import { formatDate, parseDateMath, WatcherDate } from './dates.js';
import type { Condition, CompareOp } from './schema.js';

export interface ConditionResult {
  type: 'always' | 'never' | 'compare' | 'array_compare';
  met: boolean;
  /** As Watcher records them: each path and date math expression with the value it resolved to. */
  resolved_values?: Record<string, unknown>;
  /** The observed value and the configured value it was compared with: the alert's value and threshold. */
  observed?: unknown;
  threshold?: unknown;
}

const DATE_MATH = /^<\{(.+)\}>$/s;
const PATH = /^\{\{(.+)\}\}$/s;

/** A configured value that is `<{date math}>` or `{{ctx.path}}` resolves against the clock or the model; anything else is taken as is. */
function resolveConfigured(value: unknown, model: Record<string, unknown>, now: number, resolved: Record<string, unknown>): unknown {
  if (typeof value !== 'string') return value;
  const dm = DATE_MATH.exec(value);
  if (dm) {
    const date = parseDateMath(dm[1]!, now);
    // Recorded as Watcher writes dates into JSON: with milliseconds.
    resolved[dm[1]!] = formatDate(date.ms);
    return date;
  }
  const p = PATH.exec(value);
  if (p) {
    const v = evalPath(p[1]!, model);
    resolved[p[1]!] = v;
    return v;
  }
  return value;
}

/** compare: a null order (not comparable) is only ever not_eq. */
export function compareOp(op: CompareOp, c: number | null): boolean {
  if (c === null) return op === 'not_eq';
  return arrayOp(op, c);
}

/** array_compare's operators: there, a comparison that is not comparable is false for every operator, not_eq included. */
function arrayOp(op: CompareOp, c: number | null): boolean {
  if (c === null) return false;
  switch (op) {
    case 'eq':
      return c === 0;
    case 'not_eq':
      return c !== 0;
    case 'gt':
      return c > 0;
    case 'gte':
      return c >= 0;
    case 'lt':
      return c < 0;
    case 'lte':
      return c <= 0;
  }
}

export function quantify(quantifier: 'all' | 'some', values: unknown[], configured: unknown, op: CompareOp): boolean {
  const test = (v: unknown) => arrayOp(op, lenientCompare(v, configured));
  return quantifier === 'all' ? values.every(test) : values.some(test);
}

/**
 * Evaluates a watch or action condition against the execution model
 * (`{ ctx: ... }`). `now` is the clock date math uses: the real time in the
 * runner, the tick being replayed in a dry run.
 */
export function evaluateCondition(condition: Condition, model: Record<string, unknown>, now: number): ConditionResult {
  if ('always' in condition) return { type: 'always', met: true };
  if ('never' in condition) return { type: 'never', met: false };
  if ('compare' in condition) {
    const [path, ops] = Object.entries(condition.compare)[0]!;
    const [op, value] = Object.entries(ops)[0]! as [CompareOp, unknown];
    const resolved: Record<string, unknown> = {};
    const configured = resolveConfigured(value, model, now, resolved);
    const observed = evalPath(path, model);
    resolved[path] = observed;
    return { type: 'compare', met: compareOp(op, lenientCompare(observed, configured)), resolved_values: resolved, observed, threshold: configured };
  }
  const [arrayPath, spec] = Object.entries(condition.array_compare)[0]!;
  // Watcher's defaults (ArrayCompareCondition.parse): path "" is the element itself, quantifier some.
  const { path = '', ...rest } = spec as { path?: string };
  const [op, params] = Object.entries(rest)[0]! as [CompareOp, { value: unknown; quantifier?: 'all' | 'some' }];
  const resolved: Record<string, unknown> = {};
  const configured = resolveConfigured(params.value, model, now, resolved);
  const array = evalPath(arrayPath, model);
  if (array !== null && !Array.isArray(array)) {
    throw new Error(`array path ${arrayPath} did not evaluate to array, was ${JSON.stringify(array)}`);
  }
  const values = ((array as unknown[] | null) ?? []).map((el) => evalPath(path, el));
  resolved[arrayPath] = array ?? [];
  const quantifier = params.quantifier ?? 'some';
  const met = quantify(quantifier, values, configured, op);
  // The value the alert reports: the first element that met the comparison, or the first one when none had to.
  const hit = values.find((v) => arrayOp(op, lenientCompare(v, configured))) ?? values[0];
  return { type: 'array_compare', met, resolved_values: resolved, observed: hit ?? null, threshold: configured };
}

export { WatcherDate };
