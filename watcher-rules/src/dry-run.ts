import { randomUUID } from 'node:crypto';
import type { Client } from '@elastic/elasticsearch';
import { fetchSend } from './watcher/actions.js';
import { executionId } from './watcher/context.js';
import { parseInterval } from './watcher/duration.js';
import { executeWatch, renderTarget } from './watcher/execute.js';
import { emptyStatus } from './watcher/status.js';
import { alertFigures } from './alerts.js';
import type { LoadedWatch } from './load.js';
import { nextTick } from './runner.js';

export interface TickResult {
  scheduled_time: string;
  /** The watch condition. */
  met: boolean;
  /** Met, and at least one action would run (its own condition holds); throttling and acks are not replayed. */
  would_fire: boolean;
  observed: unknown;
  value?: number;
  threshold?: number;
  target?: string;
  state: string;
  error?: string;
}

/**
 * `rules test`: replays a watch tick by tick over past data, the way the
 * runner would have executed it at each tick (same ticks, same rendering,
 * date math evaluated at the tick), running no action. Each tick starts from
 * a fresh status, as ElastAlert's rule tester does, so it answers "would the
 * condition have fired", not "would throttling have let it through".
 */
export async function dryRun(client: Client, w: LoadedWatch, o: { from: number; to: number; interval?: string }): Promise<TickResult[]> {
  const interval = parseInterval(o.interval ?? w.body.trigger.schedule.interval);
  const out: TickResult[] = [];
  for (let t = o.from % interval === 0 ? o.from : nextTick(o.from, interval); t <= o.to; t += interval) out.push(await dryRunTick(client, w, t));
  return out;
}

export async function dryRunTick(client: Client, w: LoadedWatch, scheduled: number): Promise<TickResult> {
  const e = await executeWatch({
    watchId: w.id,
    watch: w.body,
    executionId: executionId(w.id, randomUUID(), scheduled),
    times: { scheduledTime: scheduled, triggeredTime: scheduled, executionTime: scheduled },
    now: scheduled,
    node: 'dry-run',
    status: emptyStatus(),
    mode: 'simulate',
    client,
    actions: { send: fetchSend, delivery: { retries: 0, backoffMs: 1 }, log: () => {} },
  });
  const { observed, value, threshold } = alertFigures(e);
  const target = e.condition?.met ? renderTarget(e) : undefined;
  return {
    scheduled_time: new Date(scheduled).toISOString(),
    met: e.condition?.met ?? false,
    would_fire: e.fired,
    observed: observed ?? null,
    ...(value === undefined ? {} : { value }),
    ...(threshold === undefined ? {} : { threshold }),
    ...(target ? { target } : {}),
    state: e.record.state,
    ...(e.record.messages.length ? { error: e.record.messages.join('; ') } : {}),
  };
}
