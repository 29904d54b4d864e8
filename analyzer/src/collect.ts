import type { estypes } from '@elastic/elasticsearch';
import { familyPattern } from '@mlmon/contract';
import { aggregationsOnly, type AnalysisContext, type ModelKey } from './context.js';
import { latencyDiffRanges } from './paired.js';
import { emptyLabeled, SCORE_DECILE_KEYS, SCORE_DECILES, type RawGroup, type RawLabeled, type RawPaired, type RawPairedLabeled, type RawRejected, type RawWindow } from './raw.js';
import { rangesFor } from './reference.js';
import { nextFloatUp } from './stats.js';
import { judgmentAggs, judgmentRaw, JUDGMENT_FILTER_PATH } from './judgment/aggregations.js';

/**
 * Collect: the searches that turn a time range into its raw buckets (raw.ts).
 * Only aggregations leave Elasticsearch; what pipeline aggregations or scripts
 * would do is done on the buckets by finish() in window.ts.
 */

export interface TimeRange {
  start: number;
  end: number;
}

/** Width of the ROC AUC histogram's bins on the logit scale (the score 0.5 ± 0.004 near the middle). */
export const AUC_BIN = 2 ** -6;
export const FEATURE_ERRORS = ['missing_feature', 'invalid_feature_value'] as const;

type Aggs = Record<string, estypes.AggregationsAggregate>;
const docCount = (aggs: Aggs, name: string) => (aggs[name] as estypes.AggregationsSingleBucketAggregateBase).doc_count;
const sumOf = (aggs: Aggs, name: string) => (aggs[name] as estypes.AggregationsSumAggregate).value ?? 0;
const bucketCounts = (aggs: Aggs, name: string) => Uint32Array.from((aggs[name] as estypes.AggregationsRangeAggregate).buckets as estypes.AggregationsRangeBucket[], (b) => b.doc_count);
const totalOf = (res: { hits: { total?: number | estypes.SearchTotalHits } }) => (res.hits.total as estypes.SearchTotalHits | undefined)?.value ?? 0;

export function timeRange(r: TimeRange): estypes.QueryDslQueryContainer {
  return { range: { '@timestamp': { gte: new Date(r.start).toISOString(), lt: new Date(r.end).toISOString(), format: 'strict_date_optional_time' } } };
}

function groupFilter(r: TimeRange, m: ModelKey): estypes.QueryDslQueryContainer[] {
  return [timeRange(r), { term: { 'mlmon.model.name': m.name } }, { term: { 'mlmon.model.version': m.version } }, { term: { 'mlmon.model.role': m.role } }];
}

/** The model versions and roles with predictions in a range. */
export async function findGroups(ctx: AnalysisContext, r: TimeRange, version?: string): Promise<ModelKey[]> {
  const res = await ctx.client.search({
    index: `${ctx.prefix}-predictions-*`,
    ...aggregationsOnly(ctx),
    query: { bool: { filter: [timeRange(r), ...(version ? [{ term: { 'mlmon.model.version': version } }] : [])] } },
    aggs: { groups: groupTerms() },
  });
  return groupsOf(res.aggregations?.groups as GroupTerms | undefined).map((g) => g.model);
}

export const groupTerms = (): estypes.AggregationsAggregationContainer => ({
  terms: { field: 'mlmon.model.name', size: 100 },
  aggs: { version: { terms: { field: 'mlmon.model.version', size: 1000 }, aggs: { role: { terms: { field: 'mlmon.model.role', size: 10 } } } } },
});

export type GroupTerms = { buckets: Array<{ key: string; doc_count: number } & Record<string, GroupTerms>> };

export function groupsOf(terms: GroupTerms | undefined): Array<{ model: ModelKey; count: number }> {
  const out: Array<{ model: ModelKey; count: number }> = [];
  for (const n of terms?.buckets ?? []) {
    for (const v of n.version!.buckets) for (const r of v.role!.buckets) out.push({ model: { name: n.key, version: v.key, role: r.key as ModelKey['role'] }, count: r.doc_count });
  }
  return out;
}

/** The raw buckets of a range: its groups (found, or given by a census), each group's predictions and labels, and the rejected requests. */
export async function collect(ctx: AnalysisContext, r: TimeRange, opts: { groups?: ModelKey[]; version?: string } = {}): Promise<RawWindow> {
  const models = opts.groups ?? (await findGroups(ctx, r, opts.version));
  const rejected = await collectRejected(ctx, r);
  const groups: RawGroup[] = [];
  for (const m of models) groups.push(await collectGroup(ctx, r, m));
  return { ...r, groups, rejected };
}

/** Every count(< b) the drift statistics need per feature, plus the label-free statistics, in one search. */
async function collectGroup(ctx: AnalysisContext, r: TimeRange, m: ModelKey): Promise<RawGroup> {
  const { client, prefix, reference } = ctx;
  const scoreRef = reference.scores.get(m.version);
  const featureAggs: Record<string, estypes.AggregationsAggregationContainer> = {};
  reference.featureNames.forEach((f, i) => {
    featureAggs[`f${i}`] = { range: { field: `mlmon.prediction.features.${f}`, ranges: rangesFor(reference.features.get(f)!) } };
  });
  const outOfRange = reference.featureNames.flatMap((f) => {
    const d = reference.features.get(f)!;
    return [{ range: { [`mlmon.prediction.features.${f}`]: { lt: d.min } } }, { range: { [`mlmon.prediction.features.${f}`]: { gt: d.max } } }];
  });
  const deciles = SCORE_DECILE_KEYS.map((key, i) => ({
    key,
    // float32 edges: Elasticsearch rounds them so on this `float` field anyway.
    from: Math.fround(i / SCORE_DECILES),
    to: i === SCORE_DECILES - 1 ? nextFloatUp(1) : Math.fround((i + 1) / SCORE_DECILES),
  }));
  const res = await client.search({
    index: `${prefix}-predictions-*`,
    ...aggregationsOnly(ctx),
    track_total_hits: true,
    query: { bool: { filter: groupFilter(r, m) } },
    // Only the counts of the ~28,000 range buckets: their keys and bounds would be most of a response ten times larger.
    filter_path: [
      'hits.total',
      'aggregations.score',
      'aggregations.positive.doc_count',
      'aggregations.ood.doc_count',
      'aggregations.*.buckets.doc_count',
      ...JUDGMENT_FILTER_PATH,
    ],
    aggs: {
      score: { stats: { field: 'mlmon.prediction.score' } },
      positive: { filter: { term: { 'mlmon.prediction.label': reference.positiveLabel } } },
      deciles: { range: { field: 'mlmon.prediction.score', keyed: false, ranges: deciles } },
      ood: { filter: { bool: { should: outOfRange, minimum_should_match: 1 } } },
      ...(scoreRef ? { scoreRanges: { range: { field: 'mlmon.prediction.score', ranges: rangesFor(scoreRef) } } } : {}),
      ...featureAggs,
      ...judgmentAggs(ctx.judgments, m.version, reference.positiveLabel),
    },
  });
  const a = (res.aggregations ?? {}) as Aggs;
  const stats = a.score as estypes.AggregationsStatsAggregate;
  return {
    model: m,
    count: totalOf(res),
    scoreSum: stats.sum,
    scoreMin: stats.min ?? Infinity,
    scoreMax: stats.max ?? -Infinity,
    positive: docCount(a, 'positive'),
    deciles: [...bucketCounts(a, 'deciles')],
    ood: docCount(a, 'ood'),
    features: reference.featureNames.map((_, i) => bucketCounts(a, `f${i}`)),
    ...(scoreRef ? { scoreRanges: bucketCounts(a, 'scoreRanges') } : {}),
    labeled: await collectLabeled(ctx, r, m),
    ...judgmentRaw(ctx.judgments, m.version, a),
    ...(m.role === 'shadow' ? { paired: await collectPaired(ctx, r, m) } : {}),
  };
}

/** Most active versions one shadow is paired with in a range (a change of the active version makes two). */
const ACTIVE_VERSIONS = 100;

/** A shadow's pairs per active version: count, agreements, the score differences' sum and the latency differences' buckets. */
async function collectPaired(ctx: AnalysisContext, r: TimeRange, m: ModelKey): Promise<Map<string, RawPaired>> {
  const res = await ctx.client.search({
    index: `${ctx.prefix}-predictions-*`,
    ...aggregationsOnly(ctx),
    query: { bool: { filter: groupFilter(r, m) } },
    filter_path: ['aggregations.active.buckets.key', 'aggregations.active.buckets.doc_count', 'aggregations.active.buckets.agree.doc_count', 'aggregations.active.buckets.score_diff.value', 'aggregations.active.buckets.latency.buckets.doc_count'],
    aggs: {
      active: {
        terms: { field: 'mlmon.shadow.active.version', size: ACTIVE_VERSIONS },
        aggs: {
          agree: { filter: { term: { 'mlmon.shadow.agree': true } } },
          score_diff: { sum: { field: 'mlmon.shadow.score_diff' } },
          latency: { range: { field: 'mlmon.shadow.latency_diff_ns', ranges: latencyDiffRanges() } },
        },
      },
    },
  });
  type Bucket = { key: string; doc_count: number } & Aggs;
  const out = new Map<string, RawPaired>();
  for (const b of ((res.aggregations?.active as { buckets?: Bucket[] } | undefined)?.buckets ?? [])) {
    out.set(b.key, { pairs: b.doc_count, agree: docCount(b, 'agree'), scoreDiffSum: sumOf(b, 'score_diff'), latency: bucketCounts(b, 'latency') });
  }
  return out;
}

/** The labeled part of a group: confusion counts, per-row log-loss and Brier sums, and the per-class logit histograms for ROC AUC. */
export async function collectLabeled(ctx: AnalysisContext, r: TimeRange, m: ModelKey): Promise<RawLabeled> {
  const both = (y: number, p: number): estypes.AggregationsAggregationContainer => ({
    filter: { bool: { filter: [{ term: { 'mlmon.labeled.positive': y } }, { term: { 'mlmon.labeled.predicted_positive': p } }] } },
  });
  const correct = (shadow: number, active: number): estypes.AggregationsAggregationContainer => ({
    filter: { bool: { filter: [{ term: { 'mlmon.labeled.correct': shadow } }, { term: { 'mlmon.labeled.active_correct': active } }] } },
  });
  const res = await ctx.client.search({
    index: familyPattern(ctx.prefix, 'labeled'),
    ...aggregationsOnly(ctx),
    track_total_hits: true,
    query: { bool: { filter: [...groupFilter(r, m), { term: { 'mlmon.labeled.status': 'joined' } }] } },
    aggs: {
      ...(m.role === 'shadow'
        ? {
            paired: {
              terms: { field: 'mlmon.shadow.active.version', size: ACTIVE_VERSIONS },
              aggs: {
                active_correct: { filter: { term: { 'mlmon.labeled.active_correct': 1 } } },
                shadow_correct: { filter: { term: { 'mlmon.labeled.correct': 1 } } },
                b: correct(0, 1),
                c: correct(1, 0),
              },
            },
          }
        : {}),
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
  const count = totalOf(res);
  if (count === 0) return emptyLabeled();
  const a = res.aggregations as Aggs;
  const out: RawLabeled = {
    count,
    tp: docCount(a, 'tp'),
    fp: docCount(a, 'fp'),
    tn: docCount(a, 'tn'),
    fn: docCount(a, 'fn'),
    logLossSum: sumOf(a, 'log_loss'),
    brierSum: sumOf(a, 'brier'),
    logitPos: new Map(),
    logitNeg: new Map(),
  };
  for (const b of (a.by_truth as estypes.AggregationsLongTermsAggregate).buckets as unknown as Array<{ key: number; scores: estypes.AggregationsHistogramAggregate }>) {
    const into = Number(b.key) === 1 ? out.logitPos : out.logitNeg;
    for (const h of b.scores.buckets as estypes.AggregationsHistogramBucket[]) into.set(h.key, h.doc_count);
  }
  if (a.paired) {
    out.paired = new Map<string, RawPairedLabeled>();
    for (const b of (a.paired as { buckets: Array<{ key: string; doc_count: number } & Aggs> }).buckets) {
      out.paired.set(b.key, { n: b.doc_count, activeCorrect: docCount(b, 'active_correct'), shadowCorrect: docCount(b, 'shadow_correct'), b: docCount(b, 'b'), c: docCount(b, 'c') });
    }
  }
  return out;
}

export const rejectedQuery = (r: TimeRange): estypes.QueryDslQueryContainer => ({
  bool: { filter: [timeRange(r), { term: { 'event.dataset': 'mlmon.app' } }, { terms: { 'error.code': [...FEATURE_ERRORS] } }] },
});

/** The api's warnings for rejected input, by feature (the field is `features.<name>` or `instances[i].<name>`). */
export async function collectRejected(ctx: AnalysisContext, r: TimeRange): Promise<RawRejected> {
  const res = await ctx.client.search({
    index: `${ctx.prefix}-events-*`,
    ...aggregationsOnly(ctx),
    track_total_hits: true,
    query: rejectedQuery(r),
    aggs: { code: { terms: { field: 'error.code', size: 10 }, aggs: { field: { terms: { field: 'mlmon.app.field', size: 10_000 } } } } },
  });
  const byFeature = new Map<string, { missing: number; invalid: number }>();
  type Bucket = { key: string; doc_count: number; field: { buckets: Array<{ key: string; doc_count: number }> } };
  for (const code of (res.aggregations?.code as { buckets: Bucket[] } | undefined)?.buckets ?? []) {
    for (const f of code.field.buckets) {
      const feature = f.key.slice(f.key.lastIndexOf('.') + 1);
      const entry = byFeature.get(feature) ?? { missing: 0, invalid: 0 };
      if (code.key === 'missing_feature') entry.missing += f.doc_count;
      else entry.invalid += f.doc_count;
      byFeature.set(feature, entry);
    }
  }
  return { total: totalOf(res), byFeature };
}
