import { z } from 'zod';
import { ecsEvent, isoTimestamp, modelRef } from './ecs.js';
import { MODEL_ROLES } from './prediction.js';

const rate = z.number().min(0).max(1);
const count = z.number().int().nonnegative();
const finite = z.number().refine(Number.isFinite, 'must be a finite number');
const nonnegative = z.number().nonnegative();

/**
 * A judgment of a window against thresholds derived from the reference (analyzer/README.md, "Judgments"): the
 * value's bounds (± 3 sampling standard errors), the thresholds it was judged against, and the verdict. `_alert`
 * is present only when the window was judged (it held at least a reference chunk's worth of predictions).
 */
function judged<N extends string, V extends z.ZodType>(name: N, value: V) {
  return {
    [name]: value.optional(),
    [`${name}_lower`]: value.optional(),
    [`${name}_upper`]: value.optional(),
    [`${name}_threshold_lower`]: value.optional(),
    [`${name}_threshold_upper`]: value.optional(),
    [`${name}_alert`]: z.boolean().optional(),
  } as { [K in N | `${N}_lower` | `${N}_upper` | `${N}_threshold_lower` | `${N}_threshold_upper`]: z.ZodOptional<V> } & { [K in `${N}_alert`]: z.ZodOptional<z.ZodBoolean> };
}

/**
 * Every analyzer metric is computed for one model version in one role over one
 * window [start, end); `name` is the configured window it belongs to (`5m`,
 * `1h`) or `adhoc` for a one-shot `mlmon analyze`.
 */
const scoped = {
  model: modelRef.extend({ role: z.enum(MODEL_ROLES) }),
  window: z.strictObject({ start: isoTimestamp, end: isoTimestamp, name: z.string().min(1) }),
};

/**
 * Ratios are absent, never 0, when they cannot be computed (no labels, one
 * class only, no predictions); `sufficient` says whether `labeled` reached
 * `min_samples`, below which rules should not act on the ratios.
 */
export const qualityEvent = ecsEvent('mlmon.quality', {
  mlmon: {
    ...scoped,
    quality: z.strictObject({
      // Predictions in the window (by prediction time), and those of them with ground truth.
      count,
      labeled: count,
      label_coverage: rate.optional(),
      accuracy: rate.optional(),
      precision: rate.optional(),
      recall: rate.optional(),
      f1: rate.optional(),
      roc_auc: rate.optional(),
      // The most roc_auc can be off by: it is computed from a score histogram.
      roc_auc_max_error: rate.optional(),
      log_loss: z.number().nonnegative().optional(),
      brier: rate.optional(),
      confusion: z.strictObject({ tp: count, fp: count, tn: count, fn: count }),
      avg_score: rate.optional(),
      min_score: rate.optional(),
      max_score: rate.optional(),
      positive_rate: rate.optional(),
      // Confidence-based performance estimation (NannyML's CBPE), fitted on the holdout this version scored.
      ...judged('estimated_accuracy', rate),
      ...judged('estimated_precision', rate),
      ...judged('estimated_recall', rate),
      ...judged('estimated_f1', rate),
      ...judged('estimated_roc_auc', rate),
      // The most estimated_roc_auc can be off by: it is computed from score cells, pairs within one counted half.
      estimated_roc_auc_max_error: rate.optional(),
      cbpe: z
        .strictObject({
          // Whether the scores were recalibrated (isotonic) before estimating, and the two calibration errors that decided it.
          calibrated: z.boolean(),
          ece_before: rate.optional(),
          ece_after: rate.optional(),
          reference_rows: count,
          // Thresholds come from chunks of this many reference rows; a window with fewer predictions is not judged.
          reference_chunk_size: count,
        })
        .optional(),
      // Predictions per score decile, keyed "00-10" ... "90-100" (percent of the score).
      score_histogram: z.record(z.string().regex(/^\d\d-\d{2,3}$/), count).optional(),
      min_samples: count,
      sufficient: z.boolean(),
      // Only on a canary's event: the canary against the active version over the same window (diff = canary - active).
      vs_active: z
        .strictObject({
          accuracy_diff: finite.optional(),
          accuracy_diff_low: finite.optional(),
          accuracy_diff_high: finite.optional(),
          p_value: rate.optional(),
          significantly_worse: z.boolean(),
          avg_score_diff: finite.optional(),
          active_version: z.string().min(1),
          active_labeled: count,
          canary_labeled: count,
        })
        .optional(),
      // Only on a shadow's event: the shadow against the active version on the same requests (see shadowPair).
      paired: z
        .strictObject({
          active_version: z.string().min(1),
          // Requests both versions predicted, and the share where their labels agree.
          pairs: count,
          agreement: rate.optional(),
          // Of those with ground truth: active right and shadow wrong, and the reverse (McNemar's b and c).
          labeled_pairs: count,
          active_only_correct: count,
          shadow_only_correct: count,
          discordant: count,
          // Exact two-sided McNemar test on the discordant pairs (statsmodels' mcnemar(exact=True)).
          mcnemar_p_value: rate.optional(),
          active_accuracy: rate.optional(),
          shadow_accuracy: rate.optional(),
          // shadow_accuracy - active_accuracy, on the same labeled pairs.
          accuracy_diff: finite.optional(),
          score_diff_mean: finite.optional(),
          // Percentiles of the shadow's latency minus the active one's, per pair (from log-scale buckets, see the analyzer README).
          latency_diff_p50_ms: finite.optional(),
          latency_diff_p99_ms: finite.optional(),
          alpha: rate,
          min_discordant: count,
          // p < alpha on at least min_discordant discordant pairs, the shadow right more often (better) or less (worse).
          significantly_better: z.boolean(),
          significantly_worse: z.boolean(),
        })
        .optional(),
    }),
  },
});
export type QualityEvent = z.infer<typeof qualityEvent>;

/** One per feature (and `score`), plus a summary with `feature: "_all"` that carries the thresholds used. */
export const driftEvent = ecsEvent('mlmon.drift', {
  mlmon: {
    ...scoped,
    drift: z.strictObject({
      // A feature name, "score" for the model's output distribution, or "_all" for the summary.
      feature: z.string().min(1),
      count,
      psi: z.number().nonnegative().optional(),
      ks: rate.optional(),
      p_value: rate.optional(),
      // Benjamini-Hochberg adjusted over the features of the window.
      p_value_adjusted: rate.optional(),
      // The thresholds from the training reference's chunks each statistic was judged against; `drifted` is ks > ks_threshold.
      ks_threshold: nonnegative.optional(),
      psi_threshold: nonnegative.optional(),
      psi_alert: z.boolean().optional(),
      drifted: z.boolean().optional(),
      // Summary only.
      features: count.optional(),
      drifted_count: count.optional(),
      drifted_share: rate.optional(),
      drifted_share_threshold: nonnegative.optional(),
      drifted_share_alert: z.boolean().optional(),
      max_psi: z.number().nonnegative().optional(),
      max_psi_feature: z.string().optional(),
      alpha: rate.optional(),
      correction: z.string().optional(),
      // Multivariate drift (NannyML's data reconstruction): the mean of the predictions' ood.score.
      ...judged('reconstruction_error', nonnegative),
      min_samples: count.optional(),
      sufficient: z.boolean().optional(),
    }),
  },
});
export type DriftEvent = z.infer<typeof driftEvent>;

/** One per feature, plus a summary with `feature: "_all"`. */
export const dataQualityEvent = ecsEvent('mlmon.data_quality', {
  mlmon: {
    ...scoped,
    data_quality: z.strictObject({
      feature: z.string().min(1),
      count,
      // Service-wide: a rejected request is refused before a version is chosen.
      missing_rate: rate.optional(),
      invalid_rate: rate.optional(),
      // Per feature: outside the training [min, max]; in the summary: any feature outside it.
      out_of_range_rate: rate.optional(),
      // Summary only. The share of predictions flagged out of distribution (ood.flag), and its reference threshold.
      ood_rate: rate.optional(),
      ood_rate_threshold_upper: nonnegative.optional(),
      ood_rate_alert: z.boolean().optional(),
      rejected_count: count.optional(),
      rejected_rate: rate.optional(),
    }),
  },
});
export type DataQualityEvent = z.infer<typeof dataQualityEvent>;
