import type { AlertmanagerClient, Labels, PostableAlert } from '@mlmon/alertmanager';
import type { NotifiedAlert, StateStore } from './state.js';
import { observedPath, referenceThreshold, REFERENCE, type LoadedWatch } from './load.js';
import { model } from './watcher/context.js';
import type { Execution } from './watcher/execute.js';
import { renderTemplate } from './watcher/mustache.js';
import type { WatchAction } from './watcher/schema.js';

/**
 * Labels naming a rule's target, by what its `metadata.target` template reads: a model version
 * (`….mlmon.model.version`) or a replica (a key of the `replicas` terms aggregation). Grouping
 * (by model version) and inhibition (same model version and replica) work on these.
 */
const TARGET_LABELS = [
  { label: 'model_version', path: /(^|\.)mlmon\.model\.version$/ },
  { label: 'replica', path: /(^|\.)replicas\.buckets\.\d+\.key$/ },
] as const;

/** A rule's alert as mustache templates: rendered by the runner at each tick, or by Watcher in the webhook body. */
export interface AlertTemplate {
  labels: Labels;
  annotations: Labels;
}

/**
 * The alert a watch tells Alertmanager: labels `alertname` (the rule id), `severity`, `target` (the
 * rendered `metadata.target`, so each feature or replica is an alert of its own) and `model_version` /
 * `replica` where the target names one; annotations `summary` (observed value against threshold),
 * `description` and `runbook_url`.
 */
export function alertTemplate(w: LoadedWatch): AlertTemplate {
  const m = w.body.metadata;
  const labels: Labels = { alertname: w.id, severity: m.severity };
  if (m.target) {
    labels.target = m.target;
    for (const expr of m.target.match(/\{\{[^{}]+\}\}/g) ?? []) {
      const p = expr.slice(2, -2).trim();
      for (const t of TARGET_LABELS) if (t.path.test(p)) labels[t.label] = expr;
    }
  }
  const observed = observedPath(w.body);
  const threshold = m.threshold === REFERENCE ? referenceThreshold(w.id, w.body) : '{{ctx.metadata.threshold}}';
  return {
    labels,
    annotations: {
      summary: `{{ctx.metadata.name}}: ${observed ? `{{${observed}}} ` : ''}{{ctx.metadata.unit}} (threshold ${threshold})`,
      description: '{{ctx.metadata.description}}',
      runbook_url: m.runbook,
    },
  };
}

/** Renders each template; an empty value is left out (Alertmanager treats an empty label as absent anyway). */
function render(templates: Labels, e: Execution): Labels {
  const out: Labels = {};
  for (const [k, t] of Object.entries(templates)) {
    const v = renderTemplate(t, model(e.ctx)).trim();
    if (v !== '') out[k] = v;
  }
  return out;
}

/**
 * On Watcher (docker-compose) the same alert goes out as a webhook action to Alertmanager's API:
 * `rules install` adds it to every watch. Watcher cannot compute `endsAt` (no date arithmetic in
 * mustache) and never runs an action when the condition is false, so the body leaves both times out:
 * Alertmanager stamps startsAt and ends the alert `resolve_timeout` after the last post. The action
 * re-posts at every execution whose condition holds (a throttle period below any rule's interval).
 */
export function alertmanagerAction(w: LoadedWatch, alertmanagerUrl: string): WatchAction {
  const t = alertTemplate(w);
  return {
    throttle_period: '1s',
    webhook: {
      method: 'post',
      url: `${alertmanagerUrl.replace(/\/$/, '')}/api/v2/alerts`,
      headers: { 'content-type': 'application/json' },
      body: `__json__::${JSON.stringify([{ labels: t.labels, annotations: t.annotations }])}`,
      connection_timeout: '5s',
      read_timeout: '10s',
    },
  };
}

/** The watch as `rules install` puts it into Watcher when Alertmanager is configured. */
export const withAlertmanager = (w: LoadedWatch, alertmanagerUrl: string): LoadedWatch => ({
  id: w.id,
  body: { ...w.body, actions: { ...w.body.actions, alertmanager: alertmanagerAction(w, alertmanagerUrl) } },
});

/** How long a resolved alert stays in the state index, for `mlmon alerts` to list it. */
export const RESOLVED_KEPT_MS = 24 * 3_600_000;
/** A firing alert's endsAt is this many rule ticks ahead, re-sent every tick: a runner that dies lets it end by itself. */
export const TICKS_AHEAD = 4;

const key = (labels: Labels) => JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)));

/**
 * One tick's notification: what is firing now (the condition held: one alert, for the target the
 * payload names) and what ended (alerts told before that are not firing now), from what the runner
 * told Alertmanager before. Returns what to post, the record to keep once that is posted, and the
record to keep when the post fails (the ended alerts stay firing there, so the next tick ends them). A tick whose input or
 * condition failed says nothing new: the alerts already told end by themselves at their endsAt
 * unless a later tick re-sends them.
 */
export function nextNotification(w: LoadedWatch, e: Execution, before: NotifiedAlert[], now: number, tickMs: number): { post: NotifiedAlert[]; keep: NotifiedAlert[]; keepIfUnsent: NotifiedAlert[] } | undefined {
  if (!e.condition) return undefined;
  const previous = new Map(before.map((a) => [key(a.labels), a]));
  const nowIso = new Date(now).toISOString();
  const firing: NotifiedAlert[] = [];
  if (e.condition.met) {
    const t = alertTemplate(w);
    const labels = render(t.labels, e);
    const was = previous.get(key(labels));
    firing.push({
      labels,
      annotations: render(t.annotations, e),
      startsAt: was?.state === 'firing' ? was.startsAt : nowIso,
      endsAt: new Date(now + TICKS_AHEAD * tickMs).toISOString(),
      state: 'firing',
    });
  }
  const firingKeys = new Set(firing.map((a) => key(a.labels)));
  const ended = before.filter((a) => a.state === 'firing' && !firingKeys.has(key(a.labels))).map((a) => ({ ...a, endsAt: nowIso, state: 'resolved' as const }));
  const stillKept = before.filter((a) => a.state === 'resolved' && !firingKeys.has(key(a.labels)) && now - Date.parse(a.endsAt) < RESOLVED_KEPT_MS);
  if (firing.length === 0 && ended.length === 0) return stillKept.length === before.length ? undefined : { post: [], keep: stillKept, keepIfUnsent: stillKept };
  const untold = before.filter((a) => a.state === 'firing' && !firingKeys.has(key(a.labels)));
  return { post: [...firing, ...ended], keep: [...firing, ...ended, ...stillKept], keepIfUnsent: [...firing, ...untold, ...stillKept] };
}

const toPostable = (a: NotifiedAlert): PostableAlert => ({ labels: a.labels, annotations: a.annotations, startsAt: a.startsAt, endsAt: a.endsAt });

/**
 * Tells Alertmanager what one execution changed and records it in the state index. Returns the
 * error when Alertmanager could not be reached or refused (the next tick sends again); an error of
 * the state index propagates, as every other Elasticsearch error of the tick does.
 */
export async function tellAlertmanager(o: { am: AlertmanagerClient; store: StateStore; watch: LoadedWatch; execution: Execution; before: NotifiedAlert[]; now: number; tickMs: number }): Promise<Error | undefined> {
  const next = nextNotification(o.watch, o.execution, o.before, o.now, o.tickMs);
  if (!next) return undefined;
  let failure: Error | undefined;
  if (next.post.length > 0) await o.am.postAlerts(next.post.map(toPostable)).catch((err: Error) => (failure = err));
  await o.store.setNotified(o.watch.id, failure ? next.keepIfUnsent : next.keep);
  return failure;
}

/** The alerts the runners ended within RESOLVED_KEPT_MS (Alertmanager itself no longer lists resolved alerts), newest first. */
export async function resolvedAlerts(store: StateStore): Promise<NotifiedAlert[]> {
  const docs = await store.all();
  return docs
    .flatMap((d) => d.notified ?? [])
    .filter((a) => a.state === 'resolved')
    .sort((a, b) => b.endsAt.localeCompare(a.endsAt));
}
