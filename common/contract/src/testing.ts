import { randomBytes } from 'node:crypto';
import type { Dataset, EventOf } from './events/index.js';

const ecsHeader = <D extends Dataset>(dataset: D, kind: 'event' | 'metric' | 'alert' = 'event') => ({
  '@timestamp': new Date().toISOString(),
  log: { level: 'info' as const },
  ecs: { version: '8.10.0' },
  event: { dataset, kind },
  service: { name: 'mlmon-test', node: { name: 'replica-1' } },
  host: { hostname: 'test-host' },
  process: { pid: 4242 },
});

/** One valid event of every dataset, with fresh ids: the contract by example. */
export function sampleEvents(): { [D in Dataset]: EventOf<D> } {
  const id = () => randomBytes(8).toString('hex');
  const model = { name: 'breast-cancer-classifier', version: 'v1' };
  const window = { start: new Date(Date.now() - 60_000).toISOString(), end: new Date().toISOString(), name: '1m' };
  const scoped = { model: { ...model, role: 'active' as const }, window };
  return {
    'mlmon.prediction': {
      ...ecsHeader('mlmon.prediction'),
      message: 'prediction',
      event: { dataset: 'mlmon.prediction', kind: 'event', duration: 1_250_000 },
      service: { name: 'mlmon-api', node: { name: 'replica-1' } },
      http: { request: { id: id() } },
      mlmon: {
        model: { ...model, role: 'active' },
        prediction: {
          id: id(),
          label: 'malignant',
          score: 0.93,
          features: { mean_radius: 17.99, mean_texture: 10.38 },
          ood: { score: 2.41, flag: false, threshold: 6.48 },
          batch: { size: 1, duration_ns: 1_250_000 },
        },
      },
    },
    'mlmon.feedback': {
      ...ecsHeader('mlmon.feedback'),
      message: 'feedback',
      mlmon: { prediction: { id: id() }, feedback: { true_label: 'benign', delay_ms: 3_000 } },
    },
    'mlmon.resource': {
      ...ecsHeader('mlmon.resource', 'metric'),
      message: 'resource sample',
      mlmon: {
        resource: {
          process: { cpu_pct: 12.5, rss_bytes: 80e6, heap_used_bytes: 30e6, heap_total_bytes: 40e6, event_loop_delay_p99_ms: 3.2 },
          in_flight_requests: 2,
          host: { cpu_pct: 40, memory_used_pct: 55.5, memory_total_bytes: 24e9 },
        },
      },
    },
    'nginx.access': {
      ...ecsHeader('nginx.access'),
      message: 'POST /v1/predict 200',
      event: { dataset: 'nginx.access', kind: 'event', category: ['web'], type: ['access'], outcome: 'success', duration: 4_000_000 },
      http: { version: '1.1', request: { id: id(), method: 'POST' }, response: { status_code: 200, body: { bytes: 180 } } },
      url: { original: '/v1/predict', path: '/v1/predict' },
      source: { ip: '127.0.0.1' },
      user_agent: { original: 'curl/8.5.0' },
      mlmon: { nginx: { request_time_s: 0.004, upstream: { address: '127.0.0.1:9001', status: '200', response_time_s: '0.003' } } },
    },
    'mlmon.quality': {
      ...ecsHeader('mlmon.quality', 'metric'),
      message: 'quality',
      mlmon: {
        ...scoped,
        quality: {
          count: 120,
          labeled: 48,
          label_coverage: 0.4,
          accuracy: 0.95,
          precision: 0.9,
          recall: 0.92,
          f1: 0.91,
          roc_auc: 0.98,
          roc_auc_max_error: 0.0001,
          log_loss: 0.12,
          brier: 0.04,
          confusion: { tp: 20, fp: 1, tn: 26, fn: 1 },
          avg_score: 0.41,
          min_score: 0.001,
          max_score: 0.999,
          positive_rate: 0.4,
          estimated_accuracy: 0.93,
          score_histogram: { '00-10': 60, '90-100': 60 },
          min_samples: 30,
          sufficient: true,
          vs_active: {
            accuracy_diff: -0.02,
            accuracy_diff_low: -0.1,
            accuracy_diff_high: 0.05,
            p_value: 0.6,
            significantly_worse: false,
            avg_score_diff: 0.01,
            active_version: 'v1',
            active_labeled: 400,
            canary_labeled: 48,
          },
        },
      },
    },
    'mlmon.drift': {
      ...ecsHeader('mlmon.drift', 'metric'),
      message: 'drift',
      mlmon: {
        ...scoped,
        drift: {
          feature: 'mean_radius',
          count: 300,
          psi: 0.31,
          ks: 0.22,
          p_value: 0.001,
          p_value_adjusted: 0.03,
          drifted: true,
          features: 30,
          drifted_count: 1,
          drifted_share: 0.0333,
          max_psi: 0.31,
          max_psi_feature: 'mean_radius',
          psi_threshold: 0.2,
          alpha: 0.05,
          correction: 'benjamini-hochberg',
          min_samples: 30,
          sufficient: true,
        },
      },
    },
    'mlmon.data_quality': {
      ...ecsHeader('mlmon.data_quality', 'metric'),
      message: 'data quality',
      mlmon: {
        ...scoped,
        data_quality: {
          feature: 'mean_radius',
          count: 300,
          missing_rate: 0,
          invalid_rate: 0.01,
          out_of_range_rate: 0.02,
          ood_rate: 0.05,
          rejected_count: 3,
          rejected_rate: 0.01,
        },
      },
    },
    'mlmon.alert': {
      ...ecsHeader('mlmon.alert', 'alert'),
      message: 'accuracy below threshold',
      mlmon: {
        model,
        alert: { id: id(), rule: 'accuracy-drop', severity: 'critical', state: 'firing', value: 0.61, threshold: 0.8, action: 'rollback' },
      },
    },
    'mlmon.remediation': {
      ...ecsHeader('mlmon.remediation'),
      message: 'rolled back to v1',
      event: { dataset: 'mlmon.remediation', kind: 'event', outcome: 'success' },
      mlmon: { remediation: { action: 'rollback', decision: 'executed', alert_id: id(), execution_id: id(), watch_id: 'bad-canary', target: 'v2', detail: 'active v2 -> v1', dry_run: false, version: { before: 'v2', after: 'v1' } } },
    },
    'mlmon.app': {
      ...ecsHeader('mlmon.app'),
      log: { level: 'warn' },
      message: 'rejected request',
      error: { code: 'invalid_feature', message: 'mean_radius must be a number' },
      http: { request: { id: id() } },
      mlmon: { app: { field: 'mean_radius' } },
    },
  };
}
