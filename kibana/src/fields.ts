import type { IndexFamily } from '@mlmon/contract';

/**
 * Every field a Kibana object (or the live dashboard) uses, in one list: a
 * panel can only name a field from here (FieldName), and the structural test
 * checks each against the index templates. Fields marked `analyzer` come from
 * the analyzer's output contract (issue 9); when its templates land, this list
 * is what to reconcile.
 *
 * `unit: 'ns'` fields are shown as milliseconds through the data view's field
 * format.
 */
export const FIELDS = {
  '@timestamp': { families: ['predictions', 'feedback', 'resources', 'nginx', 'metrics', 'events'], type: 'date' },
  message: { families: ['predictions', 'feedback', 'resources', 'nginx', 'metrics', 'events'], type: 'text' },
  'log.level': { families: ['predictions', 'feedback', 'resources', 'nginx', 'metrics', 'events'], type: 'keyword' },
  'event.dataset': { families: ['predictions', 'feedback', 'resources', 'nginx', 'metrics', 'events'], type: 'keyword' },
  'service.name': { families: ['predictions', 'feedback', 'resources', 'nginx', 'metrics', 'events'], type: 'keyword' },
  'service.node.name': { families: ['predictions', 'feedback', 'resources', 'nginx', 'metrics', 'events'], type: 'keyword' },
  'event.duration': { families: ['predictions', 'nginx'], type: 'long', unit: 'ns' },
  'event.outcome': { families: ['nginx', 'events'], type: 'keyword' },
  'http.request.id': { families: ['predictions', 'nginx', 'events'], type: 'keyword' },
  'http.request.method': { families: ['nginx'], type: 'keyword' },
  'http.response.status_code': { families: ['nginx'], type: 'long' },
  'url.path': { families: ['nginx'], type: 'keyword' },
  'source.ip': { families: ['nginx'], type: 'ip' },
  'mlmon.nginx.upstream.address': { families: ['nginx'], type: 'keyword' },
  'mlmon.nginx.upstream.status': { families: ['nginx'], type: 'keyword' },
  'mlmon.model.version': { families: ['predictions', 'metrics'], type: 'keyword' },
  'mlmon.model.role': { families: ['predictions'], type: 'keyword' },
  'mlmon.prediction.id': { families: ['predictions', 'feedback'], type: 'keyword' },
  'mlmon.prediction.label': { families: ['predictions'], type: 'keyword' },
  'mlmon.prediction.score': { families: ['predictions'], type: 'float' },
  'mlmon.prediction.batch.size': { families: ['predictions'], type: 'long' },
  'error.code': { families: ['events'], type: 'keyword' },
  'error.type': { families: ['events'], type: 'keyword' },
  'error.message': { families: ['events'], type: 'text' },
  'mlmon.app.field': { families: ['events'], type: 'keyword' },
  'mlmon.alert.id': { families: ['events'], type: 'keyword' },
  'mlmon.alert.rule': { families: ['events'], type: 'keyword' },
  'mlmon.alert.severity': { families: ['events'], type: 'keyword' },
  'mlmon.alert.state': { families: ['events'], type: 'keyword' },
  'mlmon.remediation.alert_id': { families: ['events'], type: 'keyword' },
  'mlmon.remediation.action': { families: ['events'], type: 'keyword' },
  'mlmon.remediation.target': { families: ['events'], type: 'keyword' },
  'mlmon.resource.process.cpu_pct': { families: ['resources'], type: 'float' },
  'mlmon.resource.process.rss_bytes': { families: ['resources'], type: 'long', unit: 'bytes' },
  'mlmon.resource.process.event_loop_delay_p99_ms': { families: ['resources'], type: 'float' },
  'mlmon.resource.in_flight_requests': { families: ['resources'], type: 'long' },
  'mlmon.resource.cluster.status': { families: ['resources'], type: 'keyword' },
  'mlmon.resource.cluster.nodes': { families: ['resources'], type: 'long' },
  'mlmon.resource.cluster.data_nodes': { families: ['resources'], type: 'long' },
  'mlmon.resource.cluster.unassigned_shards': { families: ['resources'], type: 'long' },
  'mlmon.quality.accuracy': { families: ['metrics'], type: 'double', analyzer: true },
  'mlmon.quality.f1': { families: ['metrics'], type: 'double', analyzer: true },
  'mlmon.quality.roc_auc': { families: ['metrics'], type: 'double', analyzer: true },
  'mlmon.quality.log_loss': { families: ['metrics'], type: 'double', analyzer: true },
  'mlmon.quality.label_coverage': { families: ['metrics'], type: 'float', analyzer: true },
  'mlmon.quality.estimated_accuracy': { families: ['metrics'], type: 'double', analyzer: true },
  'mlmon.quality.estimated_accuracy_lower': { families: ['metrics'], type: 'double', analyzer: true },
  'mlmon.quality.estimated_accuracy_upper': { families: ['metrics'], type: 'double', analyzer: true },
  'mlmon.quality.estimated_accuracy_threshold_lower': { families: ['metrics'], type: 'double', analyzer: true },
  'mlmon.quality.estimated_accuracy_threshold_upper': { families: ['metrics'], type: 'double', analyzer: true },
  'mlmon.quality.avg_score': { families: ['metrics'], type: 'double', analyzer: true },
  'mlmon.quality.min_score': { families: ['metrics'], type: 'float', analyzer: true },
  'mlmon.quality.max_score': { families: ['metrics'], type: 'float', analyzer: true },
  'mlmon.quality.vs_active.accuracy_diff': { families: ['metrics'], type: 'double', analyzer: true },
  'mlmon.quality.paired.pairs': { families: ['metrics'], type: 'long', analyzer: true },
  'mlmon.quality.paired.agreement': { families: ['metrics'], type: 'float', analyzer: true },
  'mlmon.quality.paired.active_accuracy': { families: ['metrics'], type: 'double', analyzer: true },
  'mlmon.quality.paired.shadow_accuracy': { families: ['metrics'], type: 'double', analyzer: true },
  'mlmon.quality.paired.mcnemar_p_value': { families: ['metrics'], type: 'double', analyzer: true },
  'mlmon.drift.feature': { families: ['metrics'], type: 'keyword', analyzer: true },
  'mlmon.drift.psi': { families: ['metrics'], type: 'double', analyzer: true },
  'mlmon.drift.drifted_share': { families: ['metrics'], type: 'float', analyzer: true },
  'mlmon.drift.drifted_share_threshold': { families: ['metrics'], type: 'double', analyzer: true },
  'mlmon.drift.reconstruction_error': { families: ['metrics'], type: 'double', analyzer: true },
  'mlmon.drift.reconstruction_error_lower': { families: ['metrics'], type: 'double', analyzer: true },
  'mlmon.drift.reconstruction_error_upper': { families: ['metrics'], type: 'double', analyzer: true },
  'mlmon.drift.reconstruction_error_threshold_lower': { families: ['metrics'], type: 'double', analyzer: true },
  'mlmon.drift.reconstruction_error_threshold_upper': { families: ['metrics'], type: 'double', analyzer: true },
  'mlmon.data_quality.feature': { families: ['metrics'], type: 'keyword', analyzer: true },
  'mlmon.data_quality.out_of_range_rate': { families: ['metrics'], type: 'double', analyzer: true },
  'mlmon.data_quality.rejected_rate': { families: ['metrics'], type: 'double', analyzer: true },
  'mlmon.data_quality.missing_rate': { families: ['metrics'], type: 'double', analyzer: true },
  'mlmon.data_quality.ood_rate': { families: ['metrics'], type: 'double', analyzer: true },
  'mlmon.data_quality.ood_rate_threshold_upper': { families: ['metrics'], type: 'double', analyzer: true },
} as const satisfies Record<string, { families: readonly IndexFamily[]; type: string; unit?: 'ns' | 'bytes'; analyzer?: true }>;

export type FieldName = keyof typeof FIELDS;

/** Field types Elasticsearch can aggregate on (a chart's buckets and metrics); text cannot. */
export const AGGREGATABLE_TYPES = new Set(['keyword', 'long', 'integer', 'short', 'float', 'double', 'date', 'boolean', 'ip']);

/** The fields a Lucene query string names (`field:` terms and `_exists_:field`), in order, for checking them against the mappings. */
export const queryFields = (query: string): string[] => [...query.matchAll(/_exists_:([\w.@]+)|(?<![\w.@])([a-z@][\w.@]*):/g)].map((m) => (m[1] ?? m[2])!);
