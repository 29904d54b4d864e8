import type { MlmonEvent } from './events/index.js';
import { EventValidationError, validateEvent } from './validate.js';

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
  for (const key in value) {
    // Leaves are checked here rather than by a call each: a prediction line has 30 feature numbers.
    const child = value[key];
    if (key.includes('.') || (typeof child === 'object' && child !== null && hasDottedKey(child))) return true;
  }
  return false;
}

/**
 * The event with its top-level `"a.b": v` keys moved to `a: { b: v }`, in a
 * new top-level object (deleting keys from the parsed one would turn it into
 * a slow dictionary-mode object for the validation that follows). Undefined
 * when that would not give what expandDottedKeys gives: a dotted key below the
 * top level, a path through a value that is not an object, or two keys for one
 * field (where expandDottedKeys' result depends on key order). The caller then
 * parses the line again, so nested objects this extended do not matter.
 */
function expandTopLevel(event: Record<string, unknown>): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  let dotted: string[] | undefined;
  for (const key in event) {
    const value = event[key];
    if (hasDottedKey(value)) return undefined;
    if (key !== '@timestamp' && key.includes('.')) (dotted ??= []).push(key);
    else out[key] = value;
  }
  for (const key of dotted ?? []) {
    const parts = key.split('.');
    const leaf = parts.pop()!;
    let target = out;
    for (const part of parts) {
      const next = target[part];
      if (next === undefined) target = target[part] = {};
      else if (isObject(next)) target = next;
      else return undefined;
    }
    if (leaf in target) return undefined;
    target[leaf] = event[key];
  }
  return out;
}

/**
 * Parses one NDJSON log line into a validated event, or throws saying why it
 * is not one.
 *
 * ECS loggers write dotted keys at the top level only (`"log.level"`), so only
 * those are moved: rebuilding every object with expandDottedKeys took about
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
  const expanded = isObject(parsed) ? expandTopLevel(parsed) : undefined;
  return validateEvent(expanded ?? expandDottedKeys(JSON.parse(line)));
}
