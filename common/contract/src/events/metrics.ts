import { z } from 'zod';
import { ecsEvent, modelRef, timeWindow } from './ecs.js';

const rate = z.number().min(0).max(1);
const count = z.number().int().nonnegative();

/** Every analyzer metric is computed for one model version over one window. */
const scoped = { model: modelRef, window: timeWindow };

export const qualityEvent = ecsEvent('mlmon.quality', {
  mlmon: {
    ...scoped,
    quality: z.strictObject({
      // Predictions in the window that received ground truth.
      count,
      feedback_coverage: rate,
      accuracy: rate,
      precision: rate,
      recall: rate,
      f1: rate,
      // Undefined when the window holds a single class, so absent rather than invented.
      roc_auc: rate.optional(),
      log_loss: z.number().nonnegative().optional(),
      // Fields of the analyzer contract (issue 9) the dashboards chart; the analyzer's own schema supersedes these.
      label_coverage: rate.optional(),
      estimated_accuracy: rate.optional(),
      avg_score: rate.optional(),
      min_score: rate.optional(),
      max_score: rate.optional(),
      vs_active: z.strictObject({ accuracy_diff: z.number().min(-1).max(1) }).optional(),
    }),
  },
});
export type QualityEvent = z.infer<typeof qualityEvent>;

export const driftEvent = ecsEvent('mlmon.drift', {
  mlmon: {
    ...scoped,
    drift: z.strictObject({
      // A feature name, or "score" for the model's output distribution.
      feature: z.string().min(1),
      count,
      psi: z.number().nonnegative(),
      ks: rate,
      p_value: rate.optional(),
      drifted: z.boolean(),
      // On the `feature: "_all"` summary (analyzer contract).
      drifted_share: rate.optional(),
    }),
  },
});
export type DriftEvent = z.infer<typeof driftEvent>;

export const dataQualityEvent = ecsEvent('mlmon.data_quality', {
  mlmon: {
    ...scoped,
    data_quality: z.strictObject({
      feature: z.string().min(1),
      count,
      missing_rate: rate,
      out_of_range_rate: rate,
      // On the `feature: "_all"` summary (analyzer contract).
      rejected_rate: rate.optional(),
    }),
  },
});
export type DataQualityEvent = z.infer<typeof dataQualityEvent>;
