import type { Client, estypes } from '@elastic/elasticsearch';
import { labeledFamily } from './labeled.js';
import { binCounts, countsBelow, ksStatistic, rangesFor, referenceBinCounts, type Reference, type ReferenceDistribution } from './reference.js';
import { benjaminiHochberg, ksPValue, newcombeDiff, nextFloatUp, psi, twoProportionPValue } from './stats.js';

/** Thresholds and sample sizes; README.md explains each. */
export interface AnalysisSettings {
  minLabeled: number;
  minPredictions: number;
  psiThreshold: number;
  alpha: number;
  psiFloor: number;
}

export const DEFAULT_SETTINGS: AnalysisSettings = { minLabeled: 30, minPredictions: 30, psiThreshold: 0.2, alpha: 0.05, psiFloor: 1e-4 };

export interface Window {
  start: Date;
  end: Date;
  name: string;
}

export interface ModelKey {
  name: string;
  version: string;
  role: 'active' | 'canary' | 'pinned';
}

export interface Quality {
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
  estimated_accuracy?: number;
  score_histogram?: Record<string, number>;
  min_samples: number;
  sufficient: boolean;
  vs_active?: VsActive;
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
  drifted: boolean;
}

export interface DriftSummary {
  feature: '_all';
  count: number;
  features: number;
  drifted_count?: number;
  drifted_share?: number;
  max_psi?: number;
  max_psi_feature?: string;
  psi_threshold: number;
  alpha: number;
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

export interface DataQualitySummary {
  feature: '_all';
  count: number;
  ood_rate?: number;
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

export interface AnalysisContext {
  client: Client;
  prefix: string;
  reference: Reference;
  settings: AnalysisSettings;
  /** Off for benchmarks: a repeated window would otherwise be answered from the shard request cache. */
  requestCache?: boolean;
}

/** Width of the ROC AUC histogram's bins on the logit scale (the score 0.5 ± 0.004 near the middle). */
const AUC_BIN = 2 ** -6;
const SCORE_DECILES = 10;
const FEATURE_ERRORS = ['missing_feature', 'invalid_feature_value'] as const;

const ratio = (a: number, b: number) => (b > 0 ? a / b : undefined);
type Aggs = Record<string, estypes.AggregationsAggregate>;
const docCount = (aggs: Aggs, name: string) => (aggs[name] as estypes.AggregationsSingleBucketAggregateBase).doc_count;
const sumOf = (aggs: Aggs, name: string) => (aggs[name] as estypes.AggregationsSumAggregate).value ?? 0;
const rangeCounts = (aggs: Aggs, name: string) => (aggs[name] as estypes.AggregationsRangeAggregate).buckets as estypes.AggregationsRangeBucket[];

function timeRange(w: Window): estypes.QueryDslQueryContainer {
  return { range: { '@timestamp': { gte: w.start.toISOString(), lt: w.end.toISOString(), format: 'strict_date_optional_time' } } };
}

function groupFilter(w: Window, m: ModelKey): estypes.QueryDslQueryContainer[] {
  return [timeRange(w), { term: { 'mlmon.model.name': m.name } }, { term: { 'mlmon.model.version': m.version } }, { term: { 'mlmon.model.role': m.role } }];
}

/**
 * Everything the analyzer reports for one window: one search for the groups,
 * then per version and role one search on the predictions (label-free, drift,
 * data quality) and one on the labeled documents (quality), plus one for the
 * rejected requests. Only aggregations leave Elasticsearch.
 */
export async function analyzeWindow(ctx: AnalysisContext, w: Window, only?: { version?: string }): Promise<WindowReport> {
  const { client, prefix } = ctx;
  const predictions = `${prefix}-predictions-*`;
  const groupsRes = await client.search({
    index: predictions,
    size: 0,
    request_cache: ctx.requestCache,
    allow_no_indices: true,
    ignore_unavailable: true,
    query: { bool: { filter: [timeRange(w), ...(only?.version ? [{ term: { 'mlmon.model.version': only.version } }] : [])] } },
    aggs: {
      name: {
        terms: { field: 'mlmon.model.name', size: 100 },
        aggs: { version: { terms: { field: 'mlmon.model.version', size: 1000 }, aggs: { role: { terms: { field: 'mlmon.model.role', size: 10 } } } } },
      },
    },
  });
  const groups: ModelKey[] = [];
  type Terms = { buckets: Array<{ key: string; doc_count: number } & Record<string, Terms>> };
  for (const n of (groupsRes.aggregations?.name as Terms | undefined)?.buckets ?? []) {
    for (const v of n.version!.buckets) for (const r of v.role!.buckets) groups.push({ name: n.key, version: v.key, role: r.key as ModelKey['role'] });
  }
  const rejected = await rejectedInputs(ctx, w);
  const reports: GroupReport[] = [];
  for (const m of groups) reports.push(await analyzeGroup(ctx, w, m));
  const received = reports.reduce((a, r) => a + r.quality.count, 0) + rejected.total;
  for (const r of reports) applyRejected(r, rejected, received);
  compareCanaries(reports, ctx.settings);
  return { window: { start: w.start.toISOString(), end: w.end.toISOString(), name: w.name }, versions: reports };
}

async function analyzeGroup(ctx: AnalysisContext, w: Window, m: ModelKey): Promise<GroupReport> {
  const { client, prefix, reference, settings } = ctx;
  const scoreRef = reference.scores.get(m.version);
  const featureAggs: Record<string, estypes.AggregationsAggregationContainer> = {};
  reference.featureNames.forEach((f, i) => {
    featureAggs[`f${i}`] = { range: { field: `mlmon.prediction.features.${f}`, ranges: rangesFor(reference.features.get(f)!) } };
  });
  const outOfRange = reference.featureNames.flatMap((f) => {
    const r = reference.features.get(f)!;
    return [{ range: { [`mlmon.prediction.features.${f}`]: { lt: r.min } } }, { range: { [`mlmon.prediction.features.${f}`]: { gt: r.max } } }];
  });
  const deciles = Array.from({ length: SCORE_DECILES }, (_, i) => ({
    key: `${String(i * 10).padStart(2, '0')}-${(i + 1) * 10}`,
    // float32 edges: Elasticsearch rounds them so on this `float` field anyway.
    from: Math.fround(i / SCORE_DECILES),
    to: i === SCORE_DECILES - 1 ? nextFloatUp(1) : Math.fround((i + 1) / SCORE_DECILES),
  }));
  const pred = await client.search({
    index: `${prefix}-predictions-*`,
    size: 0,
    request_cache: ctx.requestCache,
    track_total_hits: true,
    query: { bool: { filter: groupFilter(w, m) } },
    aggs: {
      score: { stats: { field: 'mlmon.prediction.score' } },
      positive: { filter: { term: { 'mlmon.prediction.label': reference.positiveLabel } } },
      halves: { range: { field: 'mlmon.prediction.score', ranges: [{ key: 'low', to: 0.5 }, { key: 'high', from: 0.5 }] }, aggs: { sum: { sum: { field: 'mlmon.prediction.score' } } } },
      deciles: { range: { field: 'mlmon.prediction.score', keyed: false, ranges: deciles } },
      ood: { filter: { bool: { should: outOfRange, minimum_should_match: 1 } } },
      ...(scoreRef ? { scoreRanges: { range: { field: 'mlmon.prediction.score', ranges: rangesFor(scoreRef) } } } : {}),
      ...featureAggs,
    },
  });
  const pa = pred.aggregations as Aggs;
  const count = (pred.hits.total as estypes.SearchTotalHits).value;
  const notes: string[] = [];

  // Label-free: estimated accuracy is E[max(p, 1-p)] = (Σ_{p>=.5} p + n_{p<.5} - Σ_{p<.5} p) / n.
  const stats = pa.score as estypes.AggregationsStatsAggregate;
  const halves = rangeCounts(pa, 'halves') as Array<estypes.AggregationsRangeBucket & { sum: { value: number } }>;
  const low = halves.find((b) => b.key === 'low')!;
  const high = halves.find((b) => b.key === 'high')!;
  const quality: Quality = {
    count,
    labeled: 0,
    confusion: { tp: 0, fp: 0, tn: 0, fn: 0 },
    min_samples: settings.minLabeled,
    sufficient: false,
    ...(count > 0
      ? {
          avg_score: stats.avg ?? undefined,
          min_score: stats.min ?? undefined,
          max_score: stats.max ?? undefined,
          positive_rate: docCount(pa, 'positive') / count,
          estimated_accuracy: (high.sum.value + low.doc_count - low.sum.value) / count,
          score_histogram: Object.fromEntries(rangeCounts(pa, 'deciles').map((b) => [b.key!, b.doc_count])),
        }
      : {}),
  };
  Object.assign(quality, await labeledQuality(ctx, w, m, count));
  if (quality.labeled < settings.minLabeled) notes.push(`quality: insufficient data: ${quality.labeled} labeled, ${settings.minLabeled} needed`);

  // Drift and data quality.
  const sufficient = count >= settings.minPredictions;
  const features: FeatureDrift[] = [];
  const dq: FeatureDataQuality[] = [];
  reference.featureNames.forEach((f, i) => {
    const ref = reference.features.get(f)!;
    const below = countsBelow(ref, rangeCounts(pa, `f${i}`).map((b) => b.doc_count));
    dq.push({ feature: f, count, out_of_range_rate: ratio(below.get(ref.min)! + count - below.get(nextFloatUp(ref.max))!, count) });
    if (sufficient) features.push(driftOf(f, ref, below, count, settings));
  });
  const adjusted = benjaminiHochberg(features.map((d) => d.p_value));
  features.forEach((d, i) => {
    d.p_value_adjusted = adjusted[i]!;
    d.drifted = d.psi >= settings.psiThreshold && d.p_value_adjusted < settings.alpha;
  });
  let score: FeatureDrift | undefined;
  if (!scoreRef) notes.push(`drift: no reference scores for version ${m.version}; score drift not computed`);
  else if (sufficient) {
    score = driftOf('score', scoreRef, countsBelow(scoreRef, rangeCounts(pa, 'scoreRanges').map((b) => b.doc_count)), count, settings);
    score.drifted = score.psi >= settings.psiThreshold && score.p_value < settings.alpha;
  }
  if (!sufficient) notes.push(`drift: insufficient data: ${count} predictions, ${settings.minPredictions} needed`);
  const flagged = features.filter((d) => d.drifted);
  const top = features.reduce<FeatureDrift | undefined>((a, d) => (a && a.psi >= d.psi ? a : d), undefined);
  const summary: DriftSummary = {
    feature: '_all',
    count,
    features: reference.featureNames.length,
    ...(sufficient ? { drifted_count: flagged.length, drifted_share: flagged.length / reference.featureNames.length } : {}),
    ...(top ? { max_psi: top.psi, max_psi_feature: top.feature } : {}),
    psi_threshold: settings.psiThreshold,
    alpha: settings.alpha,
    correction: 'benjamini-hochberg',
    min_samples: settings.minPredictions,
    sufficient,
  };
  return {
    model: m,
    quality,
    drift: { features, ...(score ? { score } : {}), summary },
    data_quality: { features: dq, summary: { feature: '_all', count, ood_rate: ratio(docCount(pa, 'ood'), count), rejected_count: 0 } },
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

async function labeledQuality(ctx: AnalysisContext, w: Window, m: ModelKey, count: number): Promise<Partial<Quality>> {
  const { client, prefix, settings } = ctx;
  const both = (y: number, p: number): estypes.AggregationsAggregationContainer => ({
    filter: { bool: { filter: [{ term: { 'mlmon.labeled.positive': y } }, { term: { 'mlmon.labeled.predicted_positive': p } }] } },
  });
  const res = await client.search({
    index: `${labeledFamily(prefix)}-*`,
    size: 0,
    request_cache: ctx.requestCache,
    track_total_hits: true,
    allow_no_indices: true,
    ignore_unavailable: true,
    query: { bool: { filter: [...groupFilter(w, m), { term: { 'mlmon.labeled.status': 'joined' } }] } },
    aggs: {
      tp: both(1, 1),
      fp: both(0, 1),
      tn: both(0, 0),
      fn: both(1, 0),
      log_loss: { sum: { field: 'mlmon.labeled.log_loss' } },
      brier: { sum: { field: 'mlmon.labeled.brier' } },
      by_truth: {
        terms: { field: 'mlmon.labeled.positive', size: 2 },
        aggs: { scores: { histogram: { field: 'mlmon.labeled.logit', interval: AUC_BIN, min_doc_count: 1 } } },
      },
    },
  });
  const a = (res.aggregations ?? {}) as Aggs;
  const labeled = (res.hits.total as estypes.SearchTotalHits).value;
  if (labeled === 0) return { labeled: 0, label_coverage: ratio(0, count) };
  const c = { tp: docCount(a, 'tp'), fp: docCount(a, 'fp'), tn: docCount(a, 'tn'), fn: docCount(a, 'fn') };
  const precision = ratio(c.tp, c.tp + c.fp);
  const recall = ratio(c.tp, c.tp + c.fn);
  const histograms = new Map<number, Map<number, number>>();
  for (const b of (a.by_truth as estypes.AggregationsLongTermsAggregate).buckets as unknown as Array<{ key: number; scores: estypes.AggregationsHistogramAggregate }>) {
    histograms.set(Number(b.key), new Map((b.scores.buckets as estypes.AggregationsHistogramBucket[]).map((h) => [h.key, h.doc_count])));
  }
  const auc = aucFromHistograms(histograms.get(1) ?? new Map(), histograms.get(0) ?? new Map());
  return {
    labeled,
    label_coverage: ratio(labeled, count),
    accuracy: (c.tp + c.tn) / labeled,
    precision,
    recall,
    f1: ratio(2 * c.tp, 2 * c.tp + c.fp + c.fn),
    ...(auc ? { roc_auc: auc.auc, roc_auc_max_error: auc.maxError } : {}),
    log_loss: sumOf(a, 'log_loss') / labeled,
    brier: sumOf(a, 'brier') / labeled,
    confusion: c,
    sufficient: labeled >= settings.minLabeled,
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

interface Rejected {
  total: number;
  byFeature: Map<string, { missing: number; invalid: number }>;
}

/** The api's warnings for rejected input, by feature (the field is `features.<name>` or `instances[i].<name>`). */
async function rejectedInputs(ctx: AnalysisContext, w: Window): Promise<Rejected> {
  const res = await ctx.client.search({
    index: `${ctx.prefix}-events-*`,
    size: 0,
    request_cache: ctx.requestCache,
    allow_no_indices: true,
    ignore_unavailable: true,
    track_total_hits: true,
    query: { bool: { filter: [timeRange(w), { term: { 'event.dataset': 'mlmon.app' } }, { terms: { 'error.code': [...FEATURE_ERRORS] } }] } },
    aggs: { code: { terms: { field: 'error.code', size: 10 }, aggs: { field: { terms: { field: 'mlmon.app.field', size: 10_000 } } } } },
  });
  const byFeature = new Map<string, { missing: number; invalid: number }>();
  type Bucket = { key: string; doc_count: number; field: { buckets: Array<{ key: string; doc_count: number }> } };
  for (const code of ((res.aggregations?.code as { buckets: Bucket[] } | undefined)?.buckets ?? [])) {
    for (const f of code.field.buckets) {
      const feature = f.key.slice(f.key.lastIndexOf('.') + 1);
      const entry = byFeature.get(feature) ?? { missing: 0, invalid: 0 };
      if (code.key === 'missing_feature') entry.missing += f.doc_count;
      else entry.invalid += f.doc_count;
      byFeature.set(feature, entry);
    }
  }
  return { total: (res.hits.total as estypes.SearchTotalHits).value, byFeature };
}

function applyRejected(r: GroupReport, rejected: Rejected, received: number): void {
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
