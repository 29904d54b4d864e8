import type { Bucket, Dashboard, Metric, Panel, SavedSearch } from './model.js';

const time = { op: 'date_histogram', field: '@timestamp' } as const satisfies Bucket;
const byReplica = { op: 'terms', field: 'service.node.name', size: 20, label: 'replica' } as const satisfies Bucket;
const byVersion = { op: 'terms', field: 'mlmon.model.version', size: 10, label: 'model version' } as const satisfies Bucket;
const p50p99: Metric[] = [
  { op: 'percentile', field: 'event.duration', percentile: 50, label: 'p50' },
  { op: 'percentile', field: 'event.duration', percentile: 99, label: 'p99' },
];
type Field = Extract<Metric, { field: unknown }>['field'];
const avg = (field: Field, label: string): Metric => ({ op: 'average', field, label });
const predictions = 'event.dataset:"mlmon.prediction"';
const quality = 'event.dataset:"mlmon.quality"';
const clusterSamples = '_exists_:mlmon.resource.cluster.status';
const allFeatures = 'mlmon.drift.feature:"_all"';
/**
 * The judgments as the rules read them: the active version's 1-minute windows, each with the band (value ± 3
 * standard errors) and the thresholds the analyzer derived from the reference and judged it against.
 */
const judged = (dataset: string, summary = '') => `event.dataset:"${dataset}" AND mlmon.model.role:"active" AND mlmon.window.name:"1m"${summary}`;
const judgment = (field: Field, label: string, o: { band?: boolean; thresholds: Array<'lower' | 'upper'> }): Metric[] => [
  avg(field, label),
  ...(o.band ? (['lower', 'upper'] as const).map((b): Metric => ({ ...avg(`${field}_${b}` as Field, `${label} ${b === 'lower' ? '- 3 SE' : '+ 3 SE'}`), style: 'band' })) : []),
  ...o.thresholds.map((t): Metric => ({ ...avg(`${field}_threshold_${t}` as Field, `${t} threshold`), style: 'threshold' })),
];
/** A data-quality rate over time, one line per feature. */
const perFeatureRate = (id: string, title: string, metric: Metric): Panel => ({
  id,
  title,
  family: 'metrics',
  query: 'event.dataset:"mlmon.data_quality" AND NOT mlmon.data_quality.feature:"_all"',
  kind: 'line',
  x: time,
  split: { op: 'terms', field: 'mlmon.data_quality.feature', size: 10, label: 'feature' },
  metrics: [metric],
});

export const DASHBOARDS: Dashboard[] = [
  {
    id: 'mlmon-service-health',
    title: 'Service health',
    description:
      "Throughput, latency and errors of the prediction service: per replica from the replicas' own lines; as clients saw them (latency, failures, statuses, retries) from nginx's.",
    panels: [
      /*
       * Per replica from the replicas' own lines (service.node.name), not from nginx's: nginx logs
       * $upstream_addr, every address it tried comma-joined, and with a pool of fixed slots of which some are
       * empty, grouping by it gave one legend entry per combination of empty slots. Its last address could be
       * mapped to a replica only at ingest (the cluster runs no scripts or pipelines) and still would not name
       * the replica once a slot is reused, while the prediction lines carry the replica's name. nginx's own
       * lines stay for what only they see: the latency the client had, failures, statuses and retries.
       */
      { id: 'throughput', title: 'Predictions per replica', family: 'predictions', kind: 'bar_stacked', x: time, split: byReplica, metrics: [{ op: 'count', label: 'predictions' }] },
      { id: 'replica-latency', title: 'Prediction latency per replica (p50, p99)', family: 'predictions', kind: 'line', x: time, split: byReplica, metrics: p50p99 },
      { id: 'latency', title: 'Request latency at nginx (p50, p99)', family: 'nginx', kind: 'line', x: time, metrics: p50p99 },
      {
        id: 'error-rate',
        title: 'Share of failed requests at nginx (4xx/5xx)',
        family: 'nginx',
        kind: 'line',
        x: time,
        metrics: [{ op: 'share', where: 'event.outcome:failure', label: 'failed' }],
      },
      {
        id: 'retries',
        // A list in $upstream_addr means nginx moved on from a slot (empty, refused or failed) to the next one.
        title: 'Requests nginx retried on another upstream slot',
        family: 'nginx',
        query: 'mlmon.nginx.upstream.address:*,*',
        kind: 'bar_stacked',
        x: time,
        metrics: [{ op: 'count', label: 'retried requests' }],
      },
      {
        id: 'replica-errors',
        // The replica's own lines, as nginx's name a replica only by its address. Answered requests count by
        // their prediction lines (info), one per row, so a batch weighs as many requests as it has rows.
        title: 'Share of rejected (warn) and failed (error) requests per replica',
        family: 'all',
        query: `${predictions} OR (event.dataset:"mlmon.app" AND _exists_:error.code)`,
        kind: 'bar_percentage_stacked',
        x: byReplica,
        split: { op: 'terms', field: 'log.level', size: 3, label: 'level' },
        metrics: [{ op: 'count', label: 'lines' }],
      },
      {
        id: 'status',
        title: 'Responses by status',
        family: 'nginx',
        kind: 'bar_stacked',
        x: time,
        split: { op: 'terms', field: 'http.response.status_code', size: 10, label: 'status' },
        metrics: [{ op: 'count', label: 'responses' }],
      },
      // The cluster the whole path writes to, as the log shipper samples it (the cluster-health rule reads the same samples).
      {
        id: 'cluster-health',
        title: 'Elasticsearch cluster health',
        family: 'resources',
        query: clusterSamples,
        kind: 'bar_stacked',
        x: time,
        split: { op: 'terms', field: 'mlmon.resource.cluster.status', size: 3, label: 'status' },
        metrics: [{ op: 'count', label: 'samples' }],
      },
      {
        id: 'cluster-nodes',
        title: 'Elasticsearch nodes and unassigned shards',
        family: 'resources',
        query: clusterSamples,
        kind: 'line',
        x: time,
        metrics: [
          { op: 'min', field: 'mlmon.resource.cluster.nodes', label: 'nodes' },
          { op: 'min', field: 'mlmon.resource.cluster.data_nodes', label: 'data nodes' },
          { op: 'max', field: 'mlmon.resource.cluster.unassigned_shards', label: 'unassigned shards' },
        ],
      },
    ],
  },
  {
    id: 'mlmon-model-quality',
    title: 'Model quality',
    description: "Realized quality per model version from ground truth, the canary against the active version, a shadow against it on the same requests, and label coverage (the analyzer's mlmon.quality).",
    panels: [
      { id: 'accuracy', title: 'Accuracy per version', family: 'metrics', query: quality, kind: 'line', x: time, split: byVersion, metrics: [avg('mlmon.quality.accuracy', 'accuracy')] },
      { id: 'f1', title: 'F1 per version', family: 'metrics', query: quality, kind: 'line', x: time, split: byVersion, metrics: [avg('mlmon.quality.f1', 'F1')] },
      { id: 'auc', title: 'ROC AUC per version', family: 'metrics', query: quality, kind: 'line', x: time, split: byVersion, metrics: [avg('mlmon.quality.roc_auc', 'AUC')] },
      { id: 'log-loss', title: 'Log loss per version', family: 'metrics', query: quality, kind: 'line', x: time, split: byVersion, metrics: [avg('mlmon.quality.log_loss', 'log loss')] },
      {
        id: 'canary',
        title: 'Canary minus active accuracy',
        family: 'metrics',
        query: `${quality} AND _exists_:mlmon.quality.vs_active.accuracy_diff`,
        kind: 'line',
        x: time,
        metrics: [avg('mlmon.quality.vs_active.accuracy_diff', 'accuracy difference')],
      },
      {
        id: 'shadow',
        title: 'Shadow against active on the same requests',
        family: 'metrics',
        query: `${quality} AND mlmon.window.name:"1h" AND _exists_:mlmon.quality.paired.pairs`,
        kind: 'line',
        x: time,
        metrics: [
          avg('mlmon.quality.paired.active_accuracy', 'active accuracy (labeled pairs)'),
          avg('mlmon.quality.paired.shadow_accuracy', 'shadow accuracy (labeled pairs)'),
          avg('mlmon.quality.paired.agreement', 'agreement'),
          avg('mlmon.quality.paired.mcnemar_p_value', 'McNemar p'),
        ],
      },
      { id: 'coverage', title: 'Label coverage per version', family: 'metrics', query: quality, kind: 'line', x: time, split: byVersion, metrics: [avg('mlmon.quality.label_coverage', 'label coverage')] },
      {
        id: 'estimated',
        title: 'Estimated (CBPE) against realized accuracy, band and thresholds',
        family: 'metrics',
        query: judged('mlmon.quality'),
        kind: 'line',
        x: time,
        metrics: [...judgment('mlmon.quality.estimated_accuracy', 'estimated (CBPE)', { band: true, thresholds: ['lower', 'upper'] }), avg('mlmon.quality.accuracy', 'realized')],
      },
    ],
  },
  {
    id: 'mlmon-drift-data-quality',
    title: 'Drift and data quality',
    description:
      'Multivariate drift (reconstruction error) and the share of out-of-distribution predictions against their reference thresholds, PSI per feature against the training reference, the share of drifted features, out-of-range and rejected input, and the band of predicted scores.',
    panels: [
      {
        id: 'psi-heatmap',
        title: 'PSI per feature',
        family: 'metrics',
        query: `event.dataset:"mlmon.drift" AND NOT ${allFeatures}`,
        kind: 'heatmap',
        x: time,
        y: { op: 'terms', field: 'mlmon.drift.feature', size: 40, label: 'feature' },
        metric: { op: 'max', field: 'mlmon.drift.psi', label: 'PSI' },
      },
      {
        id: 'reconstruction',
        title: 'Reconstruction error (multivariate drift), band and thresholds',
        family: 'metrics',
        query: judged('mlmon.drift', ` AND ${allFeatures}`),
        kind: 'line',
        x: time,
        metrics: judgment('mlmon.drift.reconstruction_error', 'reconstruction error', { band: true, thresholds: ['lower', 'upper'] }),
      },
      {
        id: 'ood-rate',
        title: 'Share of out-of-distribution predictions and its threshold',
        family: 'metrics',
        query: judged('mlmon.data_quality', ' AND mlmon.data_quality.feature:"_all"'),
        kind: 'line',
        x: time,
        metrics: judgment('mlmon.data_quality.ood_rate', 'flagged by the replicas', { thresholds: ['upper'] }),
      },
      {
        id: 'drifted-share',
        title: 'Share of drifted features',
        family: 'metrics',
        query: judged('mlmon.drift', ` AND ${allFeatures}`),
        kind: 'line',
        x: time,
        metrics: [avg('mlmon.drift.drifted_share', 'drifted share'), { ...avg('mlmon.drift.drifted_share_threshold', 'threshold'), style: 'threshold' }],
      },
      perFeatureRate('out-of-range', 'Out-of-range rate per feature', avg('mlmon.data_quality.out_of_range_rate', 'out of range')),
      perFeatureRate('missing', 'Missing rate per feature', avg('mlmon.data_quality.missing_rate', 'missing')),
      {
        id: 'rejected',
        title: 'Rejected input rate and share of predictions out of range',
        family: 'metrics',
        query: 'event.dataset:"mlmon.data_quality" AND mlmon.data_quality.feature:"_all"',
        kind: 'line',
        x: time,
        metrics: [avg('mlmon.data_quality.rejected_rate', 'rejected'), avg('mlmon.data_quality.out_of_range_rate', 'any feature out of range')],
      },
      {
        id: 'score-band',
        title: 'Average prediction and its band',
        family: 'metrics',
        query: quality,
        kind: 'line',
        x: time,
        metrics: [{ op: 'min', field: 'mlmon.quality.min_score', label: 'min score' }, avg('mlmon.quality.avg_score', 'average score'), { op: 'max', field: 'mlmon.quality.max_score', label: 'max score' }],
      },
      { id: 'rejected-codes', title: 'Rejected requests by code', family: 'events', query: 'event.dataset:"mlmon.app" AND _exists_:error.code', kind: 'bar_stacked', x: time, split: { op: 'terms', field: 'error.code', size: 10, label: 'code' }, metrics: [{ op: 'count', label: 'rejected' }] },
    ],
  },
  {
    id: 'mlmon-resources',
    title: 'Resources',
    description: 'CPU, memory and event-loop delay per process (replicas, shipper), from mlmon.resource samples.',
    panels: [
      { id: 'cpu', title: 'CPU % per process', family: 'resources', kind: 'line', x: time, split: byReplica, metrics: [avg('mlmon.resource.process.cpu_pct', 'CPU %')] },
      { id: 'memory', title: 'Resident memory per process', family: 'resources', kind: 'line', x: time, split: byReplica, metrics: [{ op: 'max', field: 'mlmon.resource.process.rss_bytes', label: 'RSS' }] },
      { id: 'event-loop', title: 'Event-loop delay p99 (ms) per process', family: 'resources', kind: 'line', x: time, split: byReplica, metrics: [{ op: 'max', field: 'mlmon.resource.process.event_loop_delay_p99_ms', label: 'delay p99 ms' }] },
      { id: 'in-flight', title: 'In-flight requests per replica', family: 'resources', kind: 'line', x: time, split: byReplica, metrics: [{ op: 'max', field: 'mlmon.resource.in_flight_requests', label: 'in flight' }] },
    ],
  },
  {
    id: 'mlmon-alerts-remediations',
    title: 'Alerts and remediations',
    description: 'What fired and what was done about it: a timeline, and each alert with the actions taken for it (mlmon.alert, mlmon.remediation).',
    panels: [
      {
        id: 'timeline',
        title: 'Alerts and remediations over time',
        family: 'events',
        query: 'event.dataset:("mlmon.alert" OR "mlmon.remediation")',
        kind: 'bar_stacked',
        x: time,
        split: { op: 'terms', field: 'event.dataset', size: 2, label: 'dataset' },
        metrics: [{ op: 'count', label: 'events' }],
      },
      {
        id: 'alerts',
        title: 'Alerts by rule and state',
        family: 'events',
        query: 'event.dataset:"mlmon.alert"',
        kind: 'table',
        rows: [
          { op: 'terms', field: 'mlmon.alert.rule', size: 50, label: 'rule' },
          { op: 'terms', field: 'mlmon.alert.state', size: 2, label: 'state' },
        ],
        metrics: [{ op: 'count', label: 'firings' }],
      },
      {
        id: 'actions',
        title: 'Each alert and the action taken',
        family: 'events',
        query: 'event.dataset:"mlmon.remediation"',
        kind: 'table',
        rows: [
          { op: 'terms', field: 'mlmon.remediation.alert_id', size: 100, label: 'alert id' },
          { op: 'terms', field: 'mlmon.remediation.action', size: 5, label: 'action' },
          { op: 'terms', field: 'event.outcome', size: 3, label: 'outcome' },
        ],
        metrics: [{ op: 'count', label: 'times' }],
      },
    ],
  },
];

export const SAVED_SEARCHES: SavedSearch[] = [
  {
    id: 'mlmon-errors',
    title: 'mlmon: errors',
    description: 'Every error line of every service, and every failed request at nginx.',
    dataView: 'all',
    query: 'log.level:(error OR critical) OR event.outcome:failure',
    columns: ['event.dataset', 'service.node.name', 'log.level', 'message', 'error.code', 'http.request.id'],
    sort: [['@timestamp', 'desc']],
  },
  {
    id: 'mlmon-slow-predictions',
    title: 'mlmon: slow predictions',
    description: 'Prediction lines that took 100 ms or more (event.duration is in ns), slowest first.',
    dataView: 'predictions',
    query: `${predictions} AND event.duration:>=100000000`,
    columns: ['service.node.name', 'event.duration', 'mlmon.prediction.batch.size', 'mlmon.model.version', 'mlmon.prediction.id', 'http.request.id'],
    sort: [['event.duration', 'desc']],
  },
  {
    id: 'mlmon-rejected-input',
    title: 'mlmon: rejected input by code',
    description: 'Requests the api refused, grouped by their error code and the field at fault.',
    dataView: 'events',
    query: 'event.dataset:"mlmon.app" AND _exists_:error.code',
    columns: ['error.code', 'mlmon.app.field', 'error.type', 'message', 'service.node.name', 'http.request.id'],
    sort: [['error.code', 'asc'], ['@timestamp', 'desc']],
  },
  {
    id: 'mlmon-request-lines',
    title: "mlmon: one request's lines",
    description: 'Every line that carries a request id, grouped by request; replace the query with http.request.id:"<id>" to follow one request (or run `mlmon trace <id>`).',
    dataView: 'all',
    query: '_exists_:http.request.id',
    columns: ['http.request.id', 'event.dataset', 'service.node.name', 'message', 'event.duration', 'mlmon.prediction.id'],
    sort: [['http.request.id', 'asc'], ['@timestamp', 'asc']],
  },
];
