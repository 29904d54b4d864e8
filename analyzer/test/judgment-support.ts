import { readFileSync } from 'node:fs';
import { referenceArtifact, type ReferenceArtifact } from '@mlmon/contract';

/** What model/make_judgment_fixtures.py writes: windows of traffic and NannyML's figures on them. */
export interface NannymlMetric {
  value: number | null;
  sampling_error: number | null;
  lower_confidence_boundary: number | null;
  upper_confidence_boundary: number | null;
  lower_threshold: number | null;
  upper_threshold: number | null;
  alert: boolean;
}

export interface JudgmentFixture {
  feature_names: string[];
  boundary_resample: { width: number; floor: number; rows: number; seed: number };
  windows: Record<string, { rows: number[]; shift?: Record<string, number>; note: string; y_true: number[] }>;
  cbpe: Array<{
    name: string;
    reference: { artifact: string } | { y_true: number[]; y_pred_proba: number[]; y_pred: number[] };
    fit: { calibrated: boolean; ece_before?: number; ece_after?: number; chunk_size: number; thresholds: Record<string, { lower: number | null; upper: number | null }> };
    windows: Array<{ name: string; y_pred_proba: number[]; y_pred: number[]; y_true: number[]; expected: Record<string, NannymlMetric> }>;
  }>;
  reconstruction: {
    lower_threshold: number | null;
    upper_threshold: number | null;
    k: number;
    windows: Record<string, { row_errors: number[]; expected: NannymlMetric }>;
  };
  ood: { threshold: number; chunk_size: number; rate_threshold_upper: number; windows: Record<string, { ood_rate: number; alert: boolean }> };
  univariate: {
    chunk_size: number;
    features: Record<string, { ks_threshold: number; psi_threshold: number }>;
    scores: Record<string, { ks_threshold: number; psi_threshold: number }>;
    drifted_share_threshold: number;
    windows: Record<string, { count: number; features: Record<string, { ks: number; psi: number; drifted: boolean; psi_alert: boolean }>; drifted_share: number; drifted_share_alert: boolean }>;
  };
  numpy: {
    permutations: Array<{ seed: number; n: number; permutation: number[] }>;
    splits: Array<{ y: number[]; splits: Array<[number[], number[]]> }>;
    argsorts: Array<{ values: Array<number | null>; order: number[] }>;
    isotonic: Array<{ x: number[]; y: number[]; t: number[]; calibrated: number[] }>;
  };
}

export const readJudgmentFixture = (file: string | URL): JudgmentFixture => JSON.parse(readFileSync(file, 'utf8'));

export const judgmentFixture = readJudgmentFixture(new URL('./fixtures/judgment-fixture.json', import.meta.url));

export const artifactsDir = new URL('../../model/artifacts/', import.meta.url).pathname;

export const modelReference = (version: string): ReferenceArtifact => referenceArtifact.parse(JSON.parse(readFileSync(`${artifactsDir}${version}/reference.json`, 'utf8')));

const holdout = JSON.parse(readFileSync(`${artifactsDir}holdout.json`, 'utf8')) as { feature_names: string[]; rows: Array<{ features: Record<string, number> }> };

/** A traffic window's feature rows, rebuilt from the committed holdout as the fixture describes them. */
export function windowFeatures(fixture: JudgmentFixture, name: string): number[][] {
  const w = fixture.windows[name]!;
  return w.rows.map((i) => fixture.feature_names.map((f) => holdout.rows[i]!.features[f]! + (w.shift?.[f] ?? 0)));
}
