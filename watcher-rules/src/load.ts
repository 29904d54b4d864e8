import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { z } from 'zod';
import { watchSchema, type WatchBody } from './watcher/schema.js';

export const WATCHES_DIR = fileURLToPath(new URL('../watches/', import.meta.url));

/** A watch that cannot be loaded, with the file and the field named. */
export class WatchError extends Error {
  readonly code = 'invalid_watch';
  constructor(
    readonly watchId: string,
    readonly field: string,
    detail: string,
  ) {
    super(`watch ${watchId}: ${field ? `${field}: ` : ''}${detail}`);
    this.name = 'WatchError';
  }
}

export interface LoadedWatch {
  id: string;
  body: WatchBody;
}

const SCRIPT_REFUSED =
  'scripts are refused: neither the rule runner nor a cluster without painless can run them; use a compare or array_compare condition, or a search transform';

/** Finds `script` where a condition or transform could hold one, before the schema reports it as an unknown key. */
function refuseScripts(id: string, raw: Record<string, unknown>): void {
  const check = (node: unknown, where: string, kind: 'condition' | 'transform') => {
    if (!node || typeof node !== 'object') return;
    const n = node as Record<string, unknown>;
    if ('script' in n) throw new WatchError(id, `${where}.script`, `${kind} ${SCRIPT_REFUSED}`);
    if (kind === 'transform' && Array.isArray(n.chain)) n.chain.forEach((t, i) => check(t, `${where}.chain.${i}`, 'transform'));
  };
  check(raw.condition, 'condition', 'condition');
  check(raw.transform, 'transform', 'transform');
  for (const [aid, a] of Object.entries((raw.actions ?? {}) as Record<string, Record<string, unknown>>)) {
    check(a?.condition, `actions.${aid}.condition`, 'condition');
    check(a?.transform, `actions.${aid}.transform`, 'transform');
  }
  const schedule = (raw.trigger as { schedule?: Record<string, unknown> } | undefined)?.schedule;
  const other = schedule && Object.keys(schedule).find((k) => k !== 'interval');
  if (other) throw new WatchError(id, `trigger.schedule.${other}`, `only interval schedules are supported (the runner does not implement ${other} schedules)`);
}

/**
 * Deployment settings a watch refers to as `${NAME}` (index prefix, the
 * remediator's address and token, the notification URL). They are filled in
 * when a watch is loaded, before it is installed or run, because Watcher does
 * not template index names or webhook hosts; `{{…}}` stays for Watcher's own
 * execution-time mustache.
 */
export type Deployment = Record<string, string | undefined>;

function substitute(id: string, value: unknown, deployment: Deployment, where: string): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Z0-9_]+)\}/g, (_, name: string) => {
      const v = deployment[name];
      if (v === undefined) throw new WatchError(id, where, `\${${name}} is not set`);
      return v;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => substitute(id, v, deployment, `${where}.${i}`));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(id, v, deployment, where ? `${where}.${k}` : k)]));
  }
  return value;
}

function firstIssue(id: string, error: z.ZodError): WatchError {
  const issue = error.issues[0]!;
  return new WatchError(id, issue.path.join('.'), issue.message);
}

/** Validates one watch body (as parsed JSON) and fills in the deployment settings. */
export function parseWatch(id: string, raw: unknown, deployment: Deployment): LoadedWatch {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(id)) throw new WatchError(id, '', 'watch ids are lowercase letters, digits and "-"');
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new WatchError(id, '', 'a watch is a JSON object');
  refuseScripts(id, raw as Record<string, unknown>);
  const result = watchSchema.safeParse(substitute(id, raw, deployment, ''));
  if (!result.success) throw firstIssue(id, result.error);
  if (typeof result.data.metadata.threshold === 'string') referenceThreshold(id, result.data);
  return { id, body: result.data };
}

/**
 * `"threshold": "reference"`: the analyzer judged the document against a
 * threshold it derived from the model's reference and wrote beside the value,
 * and the condition compares with that field (`{{ctx.payload…}}`), so the
 * threshold is the document's, not a number in the watch. Returns that template.
 */
export function referenceThreshold(id: string, body: WatchBody): string {
  if (body.metadata.threshold !== REFERENCE) {
    throw new WatchError(id, 'metadata.threshold', `a threshold is a number, or "${REFERENCE}" for one the metric document carries`);
  }
  const ops = 'compare' in body.condition ? Object.values(body.condition.compare)[0] : undefined;
  const configured = ops ? Object.values(ops)[0] : undefined;
  if (typeof configured !== 'string' || !/^\{\{ctx\.payload\.[\w.]+\}\}$/.test(configured)) {
    throw new WatchError(id, 'condition', 'a rule with a reference threshold compares with the threshold its document carries: a compare condition whose value is "{{ctx.payload.…}}"');
  }
  return configured;
}

/** The threshold value of rules whose threshold comes with each metric document. */
export const REFERENCE = 'reference';

export interface LoadOptions {
  dir?: string;
  deployment: Deployment;
}

/** Every `*.json` in the watches folder, sorted by id; one bad file stops the load with its name. */
export function loadWatches(o: LoadOptions): LoadedWatch[] {
  const dir = o.dir ?? WATCHES_DIR;
  const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
  return files.map((file) => {
    const id = path.basename(file, '.json');
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(path.join(dir, file), 'utf8'));
    } catch (err) {
      throw new WatchError(id, '', `${path.join(dir, file)} is not JSON: ${(err as Error).message}`);
    }
    return parseWatch(id, raw, o.deployment);
  });
}

/** The path of the value a watch reports: metadata.observed, or what its condition compares. */
export function observedPath(w: WatchBody): string | undefined {
  if (w.metadata.observed) return w.metadata.observed;
  if ('compare' in w.condition) return Object.keys(w.condition.compare)[0];
  if ('array_compare' in w.condition) return Object.keys(w.condition.array_compare)[0];
  return undefined;
}
