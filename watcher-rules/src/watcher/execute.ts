import type { Client } from '@elastic/elasticsearch';
import { runAction, type ActionDeps, type ActionResult } from './actions.js';
import { evaluateCondition, type ConditionResult } from './conditions.js';
import { createContext, model, type ExecutionTimes, type WatchContext } from './context.js';
import { WatcherDate, formatDate } from './dates.js';
import { parseTimeValue } from './duration.js';
import { renderTemplate } from './mustache.js';
import { evalPath } from './object-path.js';
import type { WatchBody, WatchInput, WatchTransform } from './schema.js';
import { extract, renderSearch, runSearch, type RenderedSearch } from './search.js';
import { actionStatus, resetAck, type WatchStatus } from './status.js';

/** Watcher's default throttle period (xpack.watcher.execution.default_throttle_period). */
export const DEFAULT_THROTTLE_MS = 5000;

export type RecordState = 'executed' | 'execution_not_needed' | 'throttled' | 'acknowledged' | 'failed';

/** One execution, shaped like a Watcher history record. */
export interface WatchRecord {
  watch_id: string;
  id: string;
  node: string;
  state: RecordState;
  trigger_event: { type: 'schedule'; triggered_time: string; schedule: { scheduled_time: string } };
  metadata: WatchBody['metadata'];
  result: {
    execution_time: string;
    execution_duration: number;
    input?: { type: string; status: 'success' | 'failure'; payload?: Record<string, unknown>; search?: { request: RenderedSearch[] }; reason?: string };
    condition?: ConditionResult & { status: 'success' | 'failure'; reason?: string };
    transform?: { type: string; status: 'success' | 'failure'; payload?: Record<string, unknown>; reason?: string };
    actions: ActionResult[];
  };
  messages: string[];
}

export interface ExecuteOptions {
  watchId: string;
  watch: WatchBody;
  executionId: string;
  times: ExecutionTimes;
  /** The clock `<{now…}>` in conditions reads: the real time, or the replayed tick in a dry run. */
  now: number;
  /**
   * The wall clock at the moment a throttle is checked, as Watcher reads it (`clock.millis()`, a few
   * milliseconds after the execution time the last run stored); `now` when absent.
   */
  clock?: () => number;
  node: string;
  /** Read and updated in place: ack and throttle state. */
  status: WatchStatus;
  /** simulate: every step but the actions, which are reported as `simulated`. */
  mode: 'execute' | 'simulate';
  client: Client;
  actions: Omit<ActionDeps, 'client'>;
}

export interface Execution {
  record: WatchRecord;
  ctx: WatchContext;
  /** The watch condition's comparison: what an alert reports. */
  condition?: ConditionResult;
  /** Condition met and at least one action ran (not throttled, acknowledged or skipped by its own condition). */
  fired: boolean;
}

async function runInput(input: WatchInput, ctx: WatchContext, client: Client, searches: RenderedSearch[]): Promise<{ type: string; payload: Record<string, unknown> }> {
  if ('simple' in input) return { type: 'simple', payload: structuredClone(input.simple) };
  if ('search' in input) {
    const rendered = renderSearch(input.search.request, model(ctx));
    searches.push(rendered);
    const response = await runSearch(client, input.search.request, rendered, input.search.timeout);
    return { type: 'search', payload: input.search.extract ? extract(response, input.search.extract) : response };
  }
  // chain: each input's payload is stored under its name, and later inputs see the earlier ones in ctx.payload.
  const payload: Record<string, unknown> = {};
  for (const entry of input.chain.inputs) {
    const [name, inner] = Object.entries(entry)[0]!;
    ctx.payload = payload;
    payload[name] = (await runInput(inner, ctx, client, searches)).payload;
  }
  return { type: 'chain', payload };
}

async function runTransform(t: WatchTransform, ctx: WatchContext, client: Client): Promise<{ type: string; payload: Record<string, unknown> }> {
  if ('search' in t) {
    const rendered = renderSearch(t.search.request, model(ctx));
    return { type: 'search', payload: await runSearch(client, t.search.request, rendered, t.search.timeout) };
  }
  // chain: each transform's output is the next one's payload.
  let payload = ctx.payload;
  for (const step of t.chain) {
    payload = (await runTransform(step, { ...ctx, payload }, client)).payload;
  }
  return { type: 'chain', payload };
}

const reason = (err: unknown) => {
  const e = err as Error & { meta?: { body?: { error?: { reason?: string } } } };
  return e.meta?.body?.error?.reason ? `${e.message}: ${e.meta.body.error.reason}` : e.message;
};

/** Whether an error means Elasticsearch could not be reached, as opposed to a bad request. */
export function isConnectionError(err: unknown): boolean {
  const name = (err as Error).name;
  return name === 'ConnectionError' || name === 'TimeoutError' || name === 'NoLivingConnectionsError';
}

/**
 * Executes a watch once, following Watcher's order: input, condition,
 * watch transform, then for each action its throttle (acknowledged, or within
 * its throttle period), its condition, its transform, and the action itself.
 * A connection error to Elasticsearch propagates, so the runner can tell an
 * outage from a failing watch; every other error is recorded as Watcher does.
 */
export async function executeWatch(o: ExecuteOptions): Promise<Execution> {
  const started = Date.now();
  // Dates Watcher writes into the record and the status print milliseconds (formatDate); dates inside templates do not.
  const at = formatDate(o.times.executionTime);
  const ctx = createContext(o.watchId, o.executionId, o.watch.metadata, o.times);
  const record: WatchRecord = {
    watch_id: o.watchId,
    id: o.executionId,
    node: o.node,
    state: 'executed',
    trigger_event: {
      type: 'schedule',
      triggered_time: formatDate(o.times.triggeredTime),
      schedule: { scheduled_time: formatDate(o.times.scheduledTime) },
    },
    metadata: o.watch.metadata,
    result: { execution_time: at, execution_duration: 0, actions: [] },
    messages: [],
  };
  const done = (state: RecordState, extra: Partial<Execution> = {}): Execution => {
    record.state = state;
    record.result.execution_duration = Date.now() - started;
    return { record, ctx, fired: false, ...extra };
  };
  o.status.last_checked = at;

  const searches: RenderedSearch[] = [];
  try {
    const input = await runInput(o.watch.input, ctx, o.client, searches);
    ctx.payload = input.payload;
    record.result.input = { type: input.type, status: 'success', payload: input.payload, ...(searches.length ? { search: { request: searches } } : {}) };
  } catch (err) {
    if (isConnectionError(err)) throw err;
    record.result.input = { type: Object.keys(o.watch.input)[0]!, status: 'failure', reason: reason(err), ...(searches.length ? { search: { request: searches } } : {}) };
    record.messages.push(`failed to execute watch input: ${reason(err)}`);
    return done('failed');
  }

  let condition: ConditionResult;
  try {
    condition = evaluateCondition(o.watch.condition, model(ctx), o.now);
    record.result.condition = { ...condition, status: 'success' };
  } catch (err) {
    record.result.condition = { type: Object.keys(o.watch.condition)[0] as ConditionResult['type'], met: false, status: 'failure', reason: reason(err) };
    record.messages.push(`failed to execute watch condition: ${reason(err)}`);
    return done('failed');
  }
  if (!condition.met) {
    // A condition that is false again re-arms acknowledged actions (WatchStatus.onCheck); one already waiting keeps its timestamp.
    for (const id of Object.keys(o.watch.actions)) resetAck(actionStatus(o.status, id, at), at);
    return done('execution_not_needed', { condition });
  }
  o.status.last_met_condition = at;

  // Watcher runs the watch transform only for actions (ExecutionService.executeInner).
  if (o.watch.transform && Object.keys(o.watch.actions).length > 0) {
    try {
      const t = await runTransform(o.watch.transform, ctx, o.client);
      ctx.payload = t.payload;
      record.result.transform = { type: t.type, status: 'success', payload: t.payload };
    } catch (err) {
      if (isConnectionError(err)) throw err;
      record.result.transform = { type: Object.keys(o.watch.transform)[0]!, status: 'failure', reason: reason(err) };
      record.messages.push(`failed to execute watch transform: ${reason(err)}`);
      return done('failed', { condition });
    }
  }

  const clock = o.clock ?? (() => o.now);
  const defaultThrottle = o.watch.throttle_period_in_millis ?? (o.watch.throttle_period ? parseTimeValue(o.watch.throttle_period) : DEFAULT_THROTTLE_MS);
  for (const [id, action] of Object.entries(o.watch.actions)) {
    const type = (['webhook', 'index', 'logging'] as const).find((t) => action[t] !== undefined)!;
    const s = actionStatus(o.status, id, at);
    // ActionThrottler: the period first, then the ack; a throttled action sets last_throttle, an acknowledged one does not.
    const period = action.throttle_period_in_millis ?? (action.throttle_period ? parseTimeValue(action.throttle_period) : defaultThrottle);
    const last = s.last_successful_execution ? Date.parse(s.last_successful_execution.timestamp) : undefined;
    const elapsed = last === undefined ? undefined : clock() - last;
    // PeriodThrottler: throttled while the time since the last successful run is at most the period (inclusive).
    if (elapsed !== undefined && elapsed <= period) {
      const why = `throttling interval is set to [${period} ms] but time elapsed since last execution is [${elapsed} ms]`;
      s.last_throttle = { timestamp: at, reason: why };
      record.result.actions.push({ id, type, status: 'throttled', reason: why });
      continue;
    }
    if (s.ack.state === 'acked') {
      record.result.actions.push({ id, type, status: 'acknowledged', reason: `action [${id}] was acked at [${s.ack.timestamp}]` });
      continue;
    }
    if (action.condition) {
      // ActionWrapper: a false condition re-arms the ack (stamped with the wall clock); one that throws is
      // condition_failed with its message and changes no status.
      let met: boolean;
      try {
        met = evaluateCondition(action.condition, model(ctx), o.now).met;
      } catch (err) {
        record.result.actions.push({ id, type, status: 'condition_failed', reason: `condition failed. skipping: ${reason(err)}` });
        continue;
      }
      if (!met) {
        resetAck(s, formatDate(clock()));
        record.result.actions.push({ id, type, status: 'condition_failed', reason: 'condition not met. skipping' });
        continue;
      }
    }
    let actionCtx = ctx;
    try {
      if (action.transform) actionCtx = { ...ctx, payload: (await runTransform(action.transform, ctx, o.client)).payload };
    } catch (err) {
      if (isConnectionError(err)) throw err;
      record.result.actions.push({ id, type, status: 'failure', reason: reason(err) });
      s.last_execution = { timestamp: at, successful: false, reason: reason(err) };
      continue;
    }
    if (o.mode === 'simulate') {
      record.result.actions.push({ id, type, status: 'simulated' });
      continue;
    }
    let result: ActionResult;
    try {
      result = await runAction(id, action, model(actionCtx), actionCtx.payload, at, { ...o.actions, client: o.client });
    } catch (err) {
      if (isConnectionError(err)) throw err;
      result = { id, type, status: 'failure', reason: reason(err) };
    }
    record.result.actions.push(result);
    s.last_execution = { timestamp: at, successful: result.status === 'success', ...(result.reason ? { reason: result.reason } : {}) };
    if (result.status === 'success') {
      s.last_successful_execution = { timestamp: at, successful: true };
      if (s.ack.state === 'awaits_successful_execution') s.ack = { state: 'ackable', timestamp: at };
    }
  }
  const statuses = record.result.actions.map((a) => a.status);
  const ran = statuses.some((x) => x === 'success' || x === 'failure' || x === 'simulated');
  // WatchRecord.getState: any acknowledged action makes the record acknowledged, else any throttled one throttled.
  const state: RecordState = statuses.includes('acknowledged') ? 'acknowledged' : statuses.includes('throttled') ? 'throttled' : 'executed';
  return done(state, { condition, fired: ran });
}

/** The alert's observed value: metadata.observed when the rule names one, else the compared value. */
export function observedValue(e: Execution): unknown {
  const path = e.ctx.metadata.observed;
  return path ? evalPath(path, model(e.ctx)) : e.condition?.observed;
}

export function renderTarget(e: Execution): string | undefined {
  const t = e.ctx.metadata.target;
  if (!t) return undefined;
  const out = renderTemplate(t, model(e.ctx)).trim();
  return out === '' ? undefined : out;
}

/** A number for an alert's value or threshold: dates as epoch millis, numeric strings parsed, anything else absent. */
export function numeric(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (v instanceof WatcherDate) return v.ms;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  return undefined;
}
