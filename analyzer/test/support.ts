import { readFileSync } from 'node:fs';
import type { Client } from '@elastic/elasticsearch';
import { writeEvents } from '@mlmon/runtime';
import { DEFAULT_SETTINGS, Judgments, loadReference, type AnalysisSettings } from '../src/index.js';

export interface FixturePrediction {
  id: string;
  time: string;
  request_id: string;
  version: string;
  role: 'active' | 'canary' | 'pinned';
  label: string;
  score: number;
  features: number[];
  replay_of?: string;
}

export interface Fixture {
  window: { start: string; end: string };
  positive_label: string;
  feature_names: string[];
  shifted_features: string[];
  settings: { psi_floor: number; alpha: number };
  univariate_thresholds: { chunk_size: number };
  predictions: FixturePrediction[];
  late_prediction_ids: string[];
  feedback: Array<{ prediction_id: string; true_label: string; time: string }>;
  rejected: Array<{ time: string; code: string; field: string }>;
  expected: {
    groups: Record<string, { quality: Record<string, unknown>; drift: Record<string, Record<string, unknown>>; data_quality: Record<string, Record<string, number>> }>;
    vs_active: Record<string, number | boolean>;
    /** A window with fewer labeled predictions than the analyzer's minimum. */
    few_labels: { window: { start: string; end: string }; group: string; quality: Record<string, unknown> };
    ks_cases: Array<{ n1: number; n2: number; d: number; p_value: number; method: string }>;
  };
}

export const fixture: Fixture = JSON.parse(readFileSync(new URL('./fixtures/analyzer-fixture.json', import.meta.url), 'utf8'));

export const reference = loadReference(new URL('../../model/artifacts/reference_profile.json', import.meta.url).pathname);
export const modelDir = new URL('../../model/artifacts/', import.meta.url).pathname;

/** What an analysis runs with in the tests: the committed profile and versions' reference.json, the judgments fitted on them. */
export function analysisContext(client: Client, prefix: string, settings: AnalysisSettings = DEFAULT_SETTINGS) {
  return { client, prefix, reference, settings, judgments: new Judgments(reference, settings, [modelDir]) };
}

const header = (time: string, dataset: string, kind = 'event') => ({
  '@timestamp': time,
  log: { level: 'info' },
  ecs: { version: '8.10.0' },
  event: { dataset, kind },
  service: { name: 'mlmon-api', node: { name: 'replica-1' } },
  message: dataset,
});

export function predictionEvent(p: FixturePrediction, featureNames: string[]) {
  return {
    ...header(p.time, 'mlmon.prediction'),
    event: { dataset: 'mlmon.prediction', kind: 'event', duration: 1_000_000 },
    http: { request: { id: p.request_id } },
    mlmon: {
      model: { name: 'breast-cancer-classifier', version: p.version, role: p.role },
      prediction: { id: p.id, label: p.label, score: p.score, features: Object.fromEntries(featureNames.map((f, i) => [f, p.features[i]!])) },
    },
  };
}

export function feedbackEvent(f: Fixture['feedback'][number]) {
  return { ...header(f.time, 'mlmon.feedback'), mlmon: { prediction: { id: f.prediction_id }, feedback: { true_label: f.true_label, delay_ms: 1000 } } };
}

export function rejectedEvent(r: Fixture['rejected'][number]) {
  return {
    ...header(r.time, 'mlmon.app'),
    log: { level: 'warn' },
    error: { code: r.code, message: 'rejected', type: 'client' },
    http: { request: { id: 'r' } },
    mlmon: { app: { field: r.field } },
  };
}

/** Indexes events as the shipper does (validated, routed to their daily index), then makes them searchable. */
export async function index(client: Client, prefix: string, events: unknown[]): Promise<void> {
  const res = await writeEvents(client, { prefix, events, refresh: true });
  if (res.failed.length > 0) throw new Error(`indexing failed: ${res.failed[0]!.reason}`);
}
