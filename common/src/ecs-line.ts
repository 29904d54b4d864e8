import type { MlmonEvent } from './events';
import { EventValidationError, validateEvent } from './validate';

/**
 * ECS logging writes some keys dotted (`"log.level"`, `"ecs.version"`) and
 * others nested; Elasticsearch treats both alike. The schemas describe the
 * nested form, so consumers expand dotted keys before validating.
 */
export function expandDottedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(expandDottedKeys);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    const parts = key === '@timestamp' ? [key] : key.split('.');
    let target = out;
    for (const part of parts.slice(0, -1)) {
      const next = target[part];
      target = (next !== null && typeof next === 'object' && !Array.isArray(next) ? next : (target[part] = {})) as Record<string, unknown>;
    }
    const leaf = parts[parts.length - 1]!;
    const expanded = expandDottedKeys(child);
    const existing = target[leaf];
    target[leaf] =
      existing && typeof existing === 'object' && expanded && typeof expanded === 'object'
        ? { ...existing, ...expanded }
        : expanded;
  }
  return out;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

function hasDottedKey(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(hasDottedKey);
  if (!isObject(value)) return false;
  for (const key in value) if (key.includes('.') || hasDottedKey(value[key])) return true;
  return false;
}

/**
 * Moves `"a.b": v` to `a: { b: v }` in place. False when that would not give
 * what expandDottedKeys gives: a dotted key below the top level, a path through
 * a value that is not an object, or two keys for one field (where
 * expandDottedKeys' result depends on key order). The caller then parses the
 * line again, so what this left half-done does not matter.
 */
function expandTopLevelInPlace(event: Record<string, unknown>): boolean {
  const dotted: string[] = [];
  for (const key in event) {
    if (hasDottedKey(event[key])) return false;
    if (key !== '@timestamp' && key.includes('.')) dotted.push(key);
  }
  for (const key of dotted) {
    const parts = key.split('.');
    const leaf = parts.pop()!;
    let target = event;
    for (const part of parts) {
      const next = target[part];
      if (next === undefined) target = target[part] = {};
      else if (isObject(next)) target = next;
      else return false;
    }
    if (leaf in target) return false;
    target[leaf] = event[key];
    delete event[key];
  }
  return true;
}

/**
 * Parses one NDJSON log line into a validated event, or throws saying why it
 * is not one.
 *
 * ECS loggers write dotted keys at the top level only (`"log.level"`), so those
 * are moved in place: rebuilding every object with expandDottedKeys took about
 * a third of the shipper's CPU per line (bench/shipper.ts and a profile). Any
 * other shape is parsed again and expanded in full, so the result is always
 * expandDottedKeys' (common/test/ecs-line.test.ts checks the two agree).
 */
export function parseEcsLine(line: string): MlmonEvent {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch (err) {
    throw new EventValidationError(`not JSON: ${(err as Error).message}`, undefined, []);
  }
  if (isObject(parsed) && expandTopLevelInPlace(parsed)) return validateEvent(parsed);
  return validateEvent(expandDottedKeys(JSON.parse(line)));
}
