import { EventValidationError, documentId, indexForEvent, parseEcsLine, validateEvent, type MlmonEvent } from '@mlmon/common';

export type Route =
  | { ok: true; index: string; id: string; timestamp: number }
  | { ok: false; reason: string };

/**
 * Decides where one log line goes: the daily index of its dataset's family and
 * a deterministic `_id`, or the dead-letter file with the reason.
 *
 * The `_id` makes a line sent twice (a retry, a replay after a crash) a 409
 * instead of a second document. A prediction's own id serves, as everywhere
 * else in mlmon. Other lines use `<stream>-<offset>`: the stream fingerprint
 * names the file's content, so the id survives renames and restarts, and a
 * document can be traced back to its line with `tail -c +<offset+1>`.
 */
export function routeLine(line: string, opts: { prefix: string; stream: string; offset: number }): Route {
  let event;
  try {
    event = parseLine(line);
  } catch (err) {
    if (err instanceof EventValidationError) return { ok: false, reason: err.message };
    throw err;
  }
  return {
    ok: true,
    index: indexForEvent(opts.prefix, event),
    id: documentId(event) ?? `${opts.stream}-${opts.offset}`,
    timestamp: Date.parse(event['@timestamp']),
  };
}

/**
 * parseEcsLine's result, without its cost on the lines that make up nearly all
 * traffic. parseEcsLine expands dotted keys by rebuilding every object of the
 * event, which took about a third of the shipper's CPU per line and made the
 * copies slower to validate (measured by bench/shipper.ts and a profile). ECS
 * loggers write dotted keys at the top level only (`"log.level"`), so those are
 * moved in place and the parsed object is validated as it is. Any line outside
 * that shape (not JSON, a dotted key deeper down, a dotted key clashing with a
 * value that is not an object) goes through parseEcsLine itself, so the outcome
 * and the error message are always parseEcsLine's.
 */
export function parseLine(line: string): MlmonEvent {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return parseEcsLine(line);
  }
  return isObject(parsed) && expandTopLevel(parsed) ? validateEvent(parsed) : parseEcsLine(line);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

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
 * expandDottedKeys' result depends on key order). The caller then re-parses,
 * so what this left half-done does not matter.
 */
function expandTopLevel(event: Record<string, unknown>): boolean {
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
