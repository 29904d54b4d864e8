import { chunkBounds, stdBand, type Band } from './thresholds.js';

/**
 * Multivariate drift by data reconstruction (NannyML's DataReconstructionDriftCalculator)
 * and the out-of-distribution rate, from the reconstruction error every replica
 * logs per prediction (`mlmon.prediction.ood.score`, fitted in reference.json on
 * the training rows). A window needs only the count, sum and sum of squares of
 * the scores, and the count of flagged rows: additive, so slices merge.
 */

export interface OodSums {
  /** Predictions carrying a score (a version without reference.json logs none). */
  count: number;
  sum: number;
  sumSquares: number;
  /** Of them, flagged out of distribution. */
  flagged: number;
}

export interface ReconstructionModel {
  /** Thresholds of the mean error: mean ± 3 sd of the reference chunks' means; no lower one when it would be <= 0. */
  thresholds: Band;
  referenceChunkSize: number;
  /** The OOD rate's upper threshold: mean + 3 sd of the reference chunks' flagged shares. */
  oodRateUpper: number;
}

export interface ReconstructionJudgment {
  value: number;
  /** value ± 3 standard errors of the mean (sample std, ddof 1), the lower one floored at 0. */
  lower: number;
  upper: number;
  thresholdLower?: number;
  thresholdUpper?: number;
  /** NannyML's rule: alert unless lower threshold < value < upper threshold. */
  alert: boolean;
}

export function fitReconstruction(fit: { reference_errors: number[]; ood_threshold: number }, chunks: number): ReconstructionModel {
  const e = fit.reference_errors;
  // As NannyML: the incomplete last chunk counts toward the thresholds of the mean.
  const means = chunkBounds(e.length, { chunks, keepIncomplete: true }).map(([a, b]) => e.slice(a, b).reduce((s, v) => s + v, 0) / (b - a));
  const complete = chunkBounds(e.length, { chunks, keepIncomplete: false });
  const rates = complete.map(([a, b]) => e.slice(a, b).filter((v) => v > fit.ood_threshold).length / (b - a));
  return {
    thresholds: stdBand(means, { lower: 0, dropAtLimit: true }),
    referenceChunkSize: complete[0]![1] - complete[0]![0],
    // An upper threshold of 0 (no training row flagged in any chunk) would alert on the first flagged request.
    oodRateUpper: Math.max(stdBand(rates).upper ?? 0, 1 / (complete[0]![1] - complete[0]![0])),
  };
}

export function judgeReconstruction(model: ReconstructionModel, s: OodSums): ReconstructionJudgment | undefined {
  if (s.count === 0) return undefined;
  const value = s.sum / s.count;
  // Sample variance from the sums; cancellation is mild here (errors ~2.5 with sd ~1) and clamped at 0.
  const variance = s.count > 1 ? Math.max(0, (s.sumSquares - (s.sum * s.sum) / s.count) / (s.count - 1)) : NaN;
  const se = Math.sqrt(variance) / Math.sqrt(s.count);
  const { lower: tl, upper: tu } = model.thresholds;
  return {
    value,
    lower: Math.max(0, value - 3 * se),
    upper: value + 3 * se,
    ...(tl !== undefined ? { thresholdLower: tl } : {}),
    ...(tu !== undefined ? { thresholdUpper: tu } : {}),
    alert: !((tl ?? -Infinity) < value && value < (tu ?? Infinity)),
  };
}
