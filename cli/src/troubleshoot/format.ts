import type { Dataset, EventOf, MlmonEvent } from '@mlmon/contract';

/** Nanoseconds (ECS `event.duration`) as the milliseconds operators read. */
export const nsToMs = (ns: number) => `${(ns / 1e6).toFixed(ns < 1e7 ? 2 : 1)} ms`;

/** One upstream attempt of an nginx request, as nginx lists them in its `$upstream_*` variables. */
export interface UpstreamAttempt {
  address: string;
  status: string;
  responseTimeS: string;
}

/**
 * nginx separates the servers it tried with ", " and a switch to another
 * upstream group (an internal redirect) with " : "; either way one entry per
 * attempt, in the order tried. Empty when nginx answered itself (413).
 */
export function upstreamAttempts(e: EventOf<'nginx.access'>): UpstreamAttempt[] {
  // An address holds a colon too (127.0.0.1:9001), but never one with spaces around it.
  const split = (s: string) => (s.trim() === '' ? [] : s.split(/, | : /));
  const { address, status, response_time_s } = e.mlmon.nginx.upstream;
  const addresses = split(address);
  const statuses = split(status);
  const times = split(response_time_s);
  return addresses.map((a, i) => ({ address: a, status: statuses[i] ?? '-', responseTimeS: times[i] ?? '-' }));
}

// The dataset sits one level down, so TypeScript cannot narrow the event union on it by itself.
export const isOf = <D extends Dataset>(e: MlmonEvent, dataset: D): e is EventOf<D> => e.event.dataset === dataset;

const time = (e: MlmonEvent) => e['@timestamp'];
const node = (e: MlmonEvent) => e.service.node?.name ?? e.service.name;

/** One event as one readable line (plus indented detail lines), whatever its dataset. */
export function describeEvent(e: MlmonEvent): string[] {
  const head = `${time(e)}  ${e.event.dataset.padEnd(18)} ${node(e).padEnd(12)}`;
  if (isOf(e, 'nginx.access')) {
    const attempts = upstreamAttempts(e);
    return [
      `${head} ${e.message} in ${nsToMs(e.event.duration)} from ${e.source.ip}  request ${e.http.request.id}`,
      ...(attempts.length === 0
        ? ['    answered by nginx itself (no upstream)']
        : attempts.map((a, i) => `    attempt ${i + 1}: ${a.address} -> ${a.status} in ${a.responseTimeS} s`)),
    ];
  }
  if (isOf(e, 'mlmon.prediction')) {
    const { model, prediction } = e.mlmon;
    return [
      `${head} prediction ${prediction.id}: ${model.name} ${model.version} (${model.role}) -> ${prediction.label} score ${prediction.score.toFixed(3)} in ${nsToMs(e.event.duration)}  request ${e.http.request.id}`,
    ];
  }
  if (isOf(e, 'mlmon.feedback')) return [`${head} feedback for ${e.mlmon.prediction.id}: true label ${e.mlmon.feedback.true_label}, ${(e.mlmon.feedback.delay_ms / 1000).toFixed(1)} s after the prediction`];
  if (isOf(e, 'mlmon.app')) {
    const err = e.error ? `  [${e.error.code}${e.mlmon?.app.field ? ` field ${e.mlmon.app.field}` : ''}]` : '';
    return [`${head} ${e.log.level}: ${e.message}${err}`];
  }
  if (isOf(e, 'mlmon.alert')) {
    const a = e.mlmon.alert;
    return [`${head} alert ${a.rule} ${a.state} (${a.severity}): value ${a.value} vs threshold ${a.threshold}${a.action ? `, action ${a.action}` : ''}  id ${a.id}`];
  }
  if (isOf(e, 'mlmon.remediation')) {
    const r = e.mlmon.remediation;
    return [`${head} remediation ${r.action} on ${r.target}: ${e.event.outcome}${r.alert_id ? `  for alert ${r.alert_id}` : ''}${r.detail ? ` (${r.detail})` : ''}`];
  }
  return [`${head} ${e.log.level}: ${e.message}`];
}
