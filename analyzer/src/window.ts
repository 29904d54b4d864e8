import { collect } from './collect.js';
import type { AnalysisContext, AnalysisSettings, ModelKey } from './context.js';
import { emptyGroup, groupKey, SCORE_DECILE_KEYS, type RawGroup, type RawLabeled, type RawRejected, type RawWindow } from './raw.js';
import { binCounts, countsBelow, ksStatistic, referenceBinCounts, type ReferenceDistribution } from './reference.js';
import { benjaminiHochberg, ksPValue, newcombeDiff, nextFloatUp, psi, twoProportionPValue } from './stats.js';
import { judgeGroup, type CbpeFields, type OodRateFields, type ReconstructionFields } from './judgment/judge.js';
import { driftVerdict } from './judgment/univariate.js';
import { finishPaired, type Paired } from './paired.js';

export interface Window {
  start: Date;
  end: Date;
  name: string;
}

export type Quality = QualityFields & CbpeFields;

interface QualityFields {
  count: number;
  labeled: number;
  label_coverage?: number;
  accuracy?: number;
  precision?: number;
  recall?: number;
  f1?: number;
  roc_auc?: number;
  roc_auc_max_error?: number;
  log_loss?: number;
  brier?: number;
  confusion: { tp: number; fp: number; tn: number; fn: number };
  avg_score?: number;
  min_score?: number;
  max_score?: number;
  positive_rate?: number;
  score_histogram?: Record<string, number>;
  min_samples: number;
  sufficient: boolean;
  vs_active?: VsActive;
  paired?: Paired;
}

export interface VsActive {
  accuracy_diff?: number;
  accuracy_diff_low?: number;
  accuracy_diff_high?: number;
  p_value?: number;
  significantly_worse: boolean;
  avg_score_diff?: number;
  active_version: string;
  active_labeled: number;
  canary_labeled: number;
}

export interface FeatureDrift {
  feature: string;
  count: number;
  psi: number;
  ks: number;
  p_value: number;
  p_value_adjusted?: number;
  ks_threshold?: number;
  psi_threshold?: number;
  psi_alert?: boolean;
  drifted: boolean;
}

export interface DriftSummary extends ReconstructionFields {
  feature: '_all';
  count: number;
  features: number;
  drifted_count?: number;
  drifted_share?: number;
  drifted_share_threshold?: number;
  drifted_share_alert?: boolean;
  max_psi?: number;
  max_psi_feature?: string;
  correction: 'benjamini-hochberg';
  min_samples: number;
  sufficient: boolean;
}

export interface FeatureDataQuality {
  feature: string;
  count: number;
  missing_rate?: number;
  invalid_rate?: number;
  out_of_range_rate?: number;
}

export interface DataQualitySummary extends OodRateFields {
  feature: '_all';
  count: number;
  /** Predictions with any feature outside the training range. */
  out_of_range_rate?: number;
  rejected_count: number;
  rejected_rate?: number;
}

export interface GroupReport {
  model: ModelKey;
  quality: Quality;
  drift: { features: FeatureDrift[]; score?: FeatureDrift; summary: DriftSummary };
  data_quality: { features: FeatureDataQuality[]; summary: DataQualitySummary };
  /** Why a metric family is missing, for people: "insufficient data: 12 labeled, 30 needed". */
  notes: string[];
}

export interface WindowReport {
  window: { start: string; end: string; name: string };
  versions: GroupReport[];
}

const ratio = (a: number, b: number) => (b > 0 ? a / b : undefined);

/**
 * Everything the analyzer reports for one window, in a single pass: collect
 * the whole range, then finish. The service instead merges per-tick slices
 * (slices.ts); both end in finish(), so they cannot disagree.
 */
export async function analyzeWindow(ctx: AnalysisContext, w: Window, only?: { version?: string }): Promise<WindowReport> {
  const raw = await collect(ctx, { start: w.start.getTime(), end: w.end.getTime() }, only?.version ? { version: only.version } : {});
  return finish(ctx, raw, w.name);
}

/**
 * The report of a window from its raw buckets: the arithmetic no aggregation does (ratios, KS, PSI, AUC, intervals).
 * A `known` group without predictions in the window is reported with count 0 and `sufficient: false`, not left
 * out, so that a reader of the metrics can tell a version without traffic from an analyzer that is not running.
 */
export function finish(ctx: Pick<AnalysisContext, 'reference' | 'settings' | 'judgments'>, raw: RawWindow, name: string, known: ModelKey[] = []): WindowReport {
  const present = raw.groups.filter((g) => g.count > 0);
  const seen = new Set(present.map((g) => groupKey(g.model)));
  const idle = known.filter((m) => !seen.has(groupKey(m))).map((m) => emptyGroup(ctx.reference, m));
  const reports = [...present, ...idle].map((g) => finishGroup(ctx, g));
  // A shadow's predictions are copies of requests already counted under the active version.
  const received = reports.reduce((a, r) => a + (r.model.role === 'shadow' ? 0 : r.quality.count), 0) + raw.rejected.total;
  for (const r of reports) applyRejected(r, raw.rejected, received);
  compareCanaries(reports, ctx.settings);
  return { window: { start: new Date(raw.start).toISOString(), end: new Date(raw.end).toISOString(), name }, versions: reports };
}

function finishGroup({ reference, settings, judgments }: Pick<AnalysisContext, 'reference' | 'settings' | 'judgments'>, g: RawGroup): GroupReport {
  const m = g.model;
  const scoreRef = reference.scores.get(m.version);
  const count = g.count;
  const judged = judgeGroup(judgments, g, settings.minPredictions);
  const notes: string[] = [...judged.notes];
  const quality: Quality = {
    count,
    labeled: 0,
    confusion: { tp: 0, fp: 0, tn: 0, fn: 0 },
    min_samples: settings.minLabeled,
    sufficient: false,
    ...(count > 0
      ? {
          avg_score: g.scoreSum / count,
          min_score: g.scoreMin,
          max_score: g.scoreMax,
          positive_rate: g.positive / count,
          score_histogram: Object.fromEntries(SCORE_DECILE_KEYS.map((k, i) => [k, g.deciles[i]!])),
        }
      : {}),
    ...judged.quality,
  };
  Object.assign(quality, labeledQuality(g.labeled, count, settings));
  if (m.role === 'shadow') {
    const paired = finishPaired(g.paired, g.labeled.paired, { alpha: settings.alpha, minDiscordant: settings.minDiscordant });
    if (paired) quality.paired = paired;
    if ((paired?.discordant ?? 0) < settings.minDiscordant) {
      notes.push(`paired: insufficient data: ${paired?.discordant ?? 0} discordant labeled pairs, ${settings.minDiscordant} needed to call the shadow better or worse`);
    }
  }
  if (quality.labeled < settings.minLabeled) notes.push(`quality: insufficient data: ${quality.labeled} labeled, ${settings.minLabeled} needed`);

  // Drift and data quality: KS distance and PSI against the thresholds of a reference chunk's worth of training rows.
  const u = judgments.univariate;
  const minSamples = settings.minPredictions ?? u.chunkSize;
  const sufficient = count >= minSamples;
  const features: FeatureDrift[] = [];
  const dq: FeatureDataQuality[] = [];
  reference.featureNames.forEach((f, i) => {
    const ref = reference.features.get(f)!;
    const below = countsBelow(ref, g.features[i]!);
    dq.push({ feature: f, count, out_of_range_rate: ratio(below.get(ref.min)! + count - below.get(nextFloatUp(ref.max))!, count) });
    if (sufficient) features.push(driftOf(f, ref, below, count, settings));
  });
  const adjusted = benjaminiHochberg(features.map((d) => d.p_value));
  features.forEach((d, i) => {
    d.p_value_adjusted = adjusted[i]!;
    Object.assign(d, driftVerdict(d, u.features.get(d.feature)!));
  });
  let score: FeatureDrift | undefined;
  if (!scoreRef || !g.scoreRanges) notes.push(`drift: no reference scores for version ${m.version}; score drift not computed`);
  else if (sufficient) {
    score = driftOf('score', scoreRef, countsBelow(scoreRef, g.scoreRanges), count, settings);
    Object.assign(score, driftVerdict(score, u.scores.get(m.version)!));
  }
  if (!sufficient) notes.push(`drift: insufficient data: ${count} predictions, ${minSamples} needed`);
  const flagged = features.filter((d) => d.drifted);
  const top = features.reduce<FeatureDrift | undefined>((a, d) => (a && a.psi >= d.psi ? a : d), undefined);
  const summary: DriftSummary = {
    feature: '_all',
    count,
    features: reference.featureNames.length,
    ...(sufficient
      ? {
          drifted_count: flagged.length,
          drifted_share: flagged.length / reference.featureNames.length,
          drifted_share_threshold: u.driftedShare,
          drifted_share_alert: flagged.length / reference.featureNames.length > u.driftedShare,
        }
      : {}),
    ...(top ? { max_psi: top.psi, max_psi_feature: top.feature } : {}),
    correction: 'benjamini-hochberg',
    min_samples: minSamples,
    sufficient,
    ...judged.drift,
  };
  return {
    model: m,
    quality,
    drift: { features, ...(score ? { score } : {}), summary },
    data_quality: { features: dq, summary: { feature: '_all', count, out_of_range_rate: ratio(g.ood, count), ...judged.dataQuality, rejected_count: 0 } },
    notes,
  };
}

function driftOf(feature: string, ref: ReferenceDistribution, below: Map<number, number>, count: number, s: AnalysisSettings): FeatureDrift {
  const ks = ksStatistic(ref, below, count);
  return {
    feature,
    count,
    psi: psi(binCounts(ref, below, count), referenceBinCounts(ref), s.psiFloor),
    ks,
    p_value: ksPValue(ks, ref.n, count),
    drifted: false,
  };
}

function labeledQuality(l: RawLabeled, count: number, settings: AnalysisSettings): Partial<Quality> {
  if (l.count === 0) return { labeled: 0, label_coverage: ratio(0, count) };
  const c = { tp: l.tp, fp: l.fp, tn: l.tn, fn: l.fn };
  const auc = aucFromHistograms(l.logitPos, l.logitNeg);
  return {
    labeled: l.count,
    label_coverage: ratio(l.count, count),
    accuracy: (c.tp + c.tn) / l.count,
    precision: ratio(c.tp, c.tp + c.fp),
    recall: ratio(c.tp, c.tp + c.fn),
    f1: ratio(2 * c.tp, 2 * c.tp + c.fp + c.fn),
    ...(auc ? { roc_auc: auc.auc, roc_auc_max_error: auc.maxError } : {}),
    log_loss: l.logLossSum / l.count,
    brier: l.brierSum / l.count,
    confusion: c,
    sufficient: l.count >= settings.minLabeled,
  };
}

/**
 * ROC AUC from per-class score histograms: a positive beats every negative in a
 * lower bin and half of those in its own bin. Pairs sharing a bin are the only
 * error, so it is at most half their share of all pairs (reported beside it).
 */
export function aucFromHistograms(pos: Map<number, number>, neg: Map<number, number>): { auc: number; maxError: number } | undefined {
  const P = [...pos.values()].reduce((a, b) => a + b, 0);
  const N = [...neg.values()].reduce((a, b) => a + b, 0);
  if (P === 0 || N === 0) return undefined;
  const keys = [...new Set([...pos.keys(), ...neg.keys()])].sort((a, b) => a - b);
  let negBelow = 0;
  let wins = 0;
  let ties = 0;
  for (const k of keys) {
    const p = pos.get(k) ?? 0;
    const n = neg.get(k) ?? 0;
    wins += p * negBelow;
    ties += p * n;
    negBelow += n;
  }
  return { auc: (wins + ties / 2) / (P * N), maxError: ties / 2 / (P * N) };
}

function applyRejected(r: GroupReport, rejected: RawRejected, received: number): void {
  for (const f of r.data_quality.features) {
    const e = rejected.byFeature.get(f.feature);
    f.missing_rate = ratio(e?.missing ?? 0, received);
    f.invalid_rate = ratio(e?.invalid ?? 0, received);
  }
  r.data_quality.summary.rejected_count = rejected.total;
  r.data_quality.summary.rejected_rate = ratio(rejected.total, received);
}

/** Each canary against the active version with the most labels in the same window. */
function compareCanaries(reports: GroupReport[], s: AnalysisSettings): void {
  const active = reports.filter((r) => r.model.role === 'active').sort((a, b) => b.quality.labeled - a.quality.labeled)[0];
  if (!active) return;
  for (const canary of reports.filter((r) => r.model.role === 'canary')) {
    const a = active.quality;
    const c = canary.quality;
    const correct = (q: Quality) => q.confusion.tp + q.confusion.tn;
    const vs: VsActive = {
      significantly_worse: false,
      active_version: active.model.version,
      active_labeled: a.labeled,
      canary_labeled: c.labeled,
      ...(a.avg_score !== undefined && c.avg_score !== undefined ? { avg_score_diff: c.avg_score - a.avg_score } : {}),
    };
    if (a.labeled > 0 && c.labeled > 0) {
      const ci = newcombeDiff(correct(c), c.labeled, correct(a), a.labeled, s.alpha);
      Object.assign(vs, { accuracy_diff: ci.diff, accuracy_diff_low: ci.low, accuracy_diff_high: ci.high });
      const p = twoProportionPValue(correct(c), c.labeled, correct(a), a.labeled);
      if (p !== undefined) vs.p_value = p;
      // Worse with (1 - alpha) confidence, and only once both sides have enough labels to be trusted.
      vs.significantly_worse = ci.high < 0 && a.sufficient && c.sufficient;
    }
    c.vs_active = vs;
  }
}
