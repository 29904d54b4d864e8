import type { MlmonEvent } from '@mlmon/contract';
import { sampleEvents } from '@mlmon/contract/testing';

/**
 * Events of every dataset, shaped as shipped (sampleEvents) and varied where a
 * panel splits or filters (two replicas, a failed request, a canary, the
 * `_all` summaries), so that every panel of every dashboard has data.
 */
export function panelFixtureEvents(): MlmonEvent[] {
  const events: MlmonEvent[] = [];
  const s = () => sampleEvents();
  for (const replica of ['replica-1', 'replica-2']) {
    const p = s()['mlmon.prediction'];
    events.push({ ...p, service: { ...p.service, node: { name: replica } } });
    // One slow prediction (250 ms), for the saved search of slow ones.
    const slow = s()['mlmon.prediction'];
    events.push({ ...slow, event: { ...slow.event, duration: 250_000_000 }, service: { ...slow.service, node: { name: replica } } });
    const r = s()['mlmon.resource'];
    events.push({ ...r, service: { ...r.service, node: { name: replica } } });
  }
  // The shipper's status line with the cluster's health, for the cluster panels.
  const status = s()['mlmon.resource'];
  events.push({
    ...status,
    service: { name: 'mlmon-log-shipper', node: { name: 'host-1' } },
    mlmon: { resource: { ...status.mlmon.resource, cluster: { name: 'mlmon', status: 'yellow', nodes: 3, data_nodes: 3, unassigned_shards: 2, active_shards_pct: 90, not_green_seconds: 30 } } },
  });
  const ok = s()['nginx.access'];
  const failed = s()['nginx.access'];
  events.push(ok, { ...failed, event: { ...failed.event, outcome: 'failure' }, http: { ...failed.http, response: { ...failed.http.response, status_code: 503 } } });
  const q = s()['mlmon.quality'];
  const quality = { ...q.mlmon.quality, label_coverage: 0.5, estimated_accuracy: 0.9, avg_score: 0.4, min_score: 0.01, max_score: 0.99 };
  events.push({ ...q, mlmon: { ...q.mlmon, quality } }, { ...q, mlmon: { ...q.mlmon, model: { ...q.mlmon.model, version: 'v2', role: 'canary' as const }, quality: { ...quality, vs_active: { accuracy_diff: -0.05, significantly_worse: false, active_version: 'v1', active_labeled: 60, canary_labeled: 40 } } } });
  const d = s()['mlmon.drift'];
  events.push(d, { ...d, mlmon: { ...d.mlmon, drift: { ...d.mlmon.drift, feature: '_all', drifted_share: 0.1 } } });
  const dq = s()['mlmon.data_quality'];
  events.push({ ...dq, mlmon: { ...dq.mlmon, data_quality: { ...dq.mlmon.data_quality, missing_rate: 0.01 } } }, { ...dq, mlmon: { ...dq.mlmon, data_quality: { ...dq.mlmon.data_quality, feature: '_all', rejected_rate: 0.02 } } });
  const alert = s()['mlmon.alert'];
  const remediation = s()['mlmon.remediation'];
  events.push(alert, { ...remediation, mlmon: { remediation: { ...remediation.mlmon.remediation, alert_id: alert.mlmon.alert.id } } }, s()['mlmon.app']);
  events.push(s()['mlmon.feedback']);
  return events;
}
