import type { estypes } from '@elastic/elasticsearch';
import { rangesOf } from '../reference.js';
import type { OodSums } from './reconstruction.js';
import type { Judgments } from './registry.js';
import type { RawCbpe } from './sums.js';

/**
 * The judgments' aggregations in a group's prediction search (collect.ts): the
 * OOD scores' count, sum and sum of squares and the flagged count, and, for a
 * version with a reference.json, CBPE's score cells (count and score sum per
 * cell, all and predicted positive). Core aggregations only.
 */

const SCORE = 'mlmon.prediction.score';

export function judgmentAggs(judgments: Judgments, version: string, positiveLabel: string): Record<string, estypes.AggregationsAggregationContainer> {
  const j = judgments.of(version);
  return {
    ood_scores: { extended_stats: { field: 'mlmon.prediction.ood.score' } },
    ood_flagged: { filter: { term: { 'mlmon.prediction.ood.flag': true } } },
    ...('cbpe' in j
      ? {
          cbpe: {
            range: { field: SCORE, ranges: rangesOf(j.cbpe.boundaries) },
            aggs: { s: { sum: { field: SCORE } }, positive: { filter: { term: { 'mlmon.prediction.label': positiveLabel } }, aggs: { s: { sum: { field: SCORE } } } } },
          },
        }
      : {}),
  };
}

/** What the search's filter_path must keep of them (the cells' doc counts come with `aggregations.*.buckets.doc_count`). */
export const JUDGMENT_FILTER_PATH = ['aggregations.ood_scores', 'aggregations.ood_flagged.doc_count', 'aggregations.cbpe.buckets.s', 'aggregations.cbpe.buckets.positive'];

type CellBucket = { doc_count: number; s?: { value: number | null }; positive?: { doc_count: number; s?: { value: number | null } } };

export function judgmentRaw(judgments: Judgments, version: string, aggs: Record<string, estypes.AggregationsAggregate>): { cbpe?: RawCbpe; oodScores: OodSums } {
  const stats = aggs.ood_scores as estypes.AggregationsExtendedStatsAggregate | undefined;
  const oodScores: OodSums = {
    count: stats?.count ?? 0,
    sum: stats?.sum ?? 0,
    sumSquares: stats?.sum_of_squares ?? 0,
    flagged: (aggs.ood_flagged as estypes.AggregationsFilterAggregate | undefined)?.doc_count ?? 0,
  };
  const j = judgments.of(version);
  if (!('cbpe' in j)) return { oodScores };
  const buckets = (aggs.cbpe as { buckets: CellBucket[] }).buckets;
  return {
    oodScores,
    cbpe: {
      layout: j.layout,
      count: Uint32Array.from(buckets, (b) => b.doc_count),
      sum: Float64Array.from(buckets, (b) => b.s?.value ?? 0),
      positiveCount: Uint32Array.from(buckets, (b) => b.positive?.doc_count ?? 0),
      positiveSum: Float64Array.from(buckets, (b) => b.positive?.s?.value ?? 0),
    },
  };
}
