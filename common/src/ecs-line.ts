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

/** Parses one NDJSON log line into a validated event, or throws saying why it is not one. */
export function parseEcsLine(line: string): MlmonEvent {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch (err) {
    throw new EventValidationError(`not JSON: ${(err as Error).message}`, undefined, []);
  }
  return validateEvent(expandDottedKeys(parsed));
}
