import type { MlmonEvent } from '@mlmon/contract';
import { sampleEvents } from '@mlmon/contract/testing';

/**
 * Events of every dataset, shaped as shipped (sampleEvents) and varied where a
 * panel splits or filters (two replicas, a failed request, a canary, the
 * `_all` summaries, a retried request), so that every panel of every dashboard has data.
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
  // A request nginx retried: an empty slot first, then a replica (the retries panel).
  const retried = s()['nginx.access'];
  events.push(ok, { ...failed, event: { ...failed.event, outcome: 'failure' }, http: { ...failed.http, response: { ...failed.http.response, status_code: 503 } } });
  events.push({ ...retried, mlmon: { nginx: { ...retried.mlmon.nginx, upstream: { address: '127.0.0.1:9004, 127.0.0.1:9001', status: '502, 200', response_time_s: '0.000, 0.003' } } } });
  const q = s()['mlmon.quality'];
  const quality = { ...q.mlmon.quality, label_coverage: 0.5, estimated_accuracy: 0.9, avg_score: 0.4, min_score: 0.01, max_score: 0.99 };
  events.push({ ...q, mlmon: { ...q.mlmon, quality } }, { ...q, mlmon: { ...q.mlmon, model: { ...q.mlmon.model, version: 'v2', role: 'canary' as const }, quality: { ...quality, vs_active: { accuracy_diff: -0.05, significantly_worse: false, active_version: 'v1', active_labeled: 60, canary_labeled: 40 } } } });
  // A shadow's 1-hour paired analysis against the active version, for the shadow panel.
  const paired = { active_version: 'v1', pairs: 50, agreement: 0.96, labeled_pairs: 40, active_only_correct: 1, shadow_only_correct: 3, discordant: 4, mcnemar_p_value: 0.625, active_accuracy: 0.9, shadow_accuracy: 0.95, alpha: 0.05, min_discordant: 10, significantly_better: false, significantly_worse: false };
  events.push({ ...q, mlmon: { ...q.mlmon, model: { ...q.mlmon.model, version: 'v2', role: 'shadow' as const }, window: { ...q.mlmon.window, name: '1h' }, quality: { ...quality, paired } } });
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
