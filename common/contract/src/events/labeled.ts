import { z } from 'zod';
import { isoTimestamp, modelRef } from './ecs.js';
import { MODEL_ROLES } from './prediction.js';

/**
 * `joined`: the feedback found its prediction; `orphaned`: not yet (the analyzer retries every pass);
 * `shadow_pending`: the shadow copy of a labeled active prediction, whose line is not indexed yet (retried for
 * one late horizon: a copy that failed or timed out never comes).
 */
export const LABELED_STATUSES = ['joined', 'orphaned', 'shadow_pending'] as const;

const flag = z.number().int().min(0).max(1);

/**
 * The analyzer's join of a feedback to its prediction: one document per
 * prediction (`_id` = prediction id) in the daily `labeled` index of the
 * prediction's day, rewritten when a later feedback arrives (external version
 * from the feedback time). Not a log line: the analyzer writes it itself, and
 * retraining reads it (status `joined`) as its labeled rows. An orphan holds
 * only the prediction id, the feedback and its status.
 */
export const labeledDocument = z.strictObject({
  // The prediction's time (an orphan: the time its UUIDv7 id carries), so windows select by prediction time.
  '@timestamp': isoTimestamp,
  http: z.strictObject({ request: z.strictObject({ id: z.string().min(1) }) }).optional(),
  mlmon: z.strictObject({
    model: modelRef.extend({ role: z.enum(MODEL_ROLES) }).optional(),
    prediction: z.strictObject({ id: z.string().min(1), label: z.string().min(1).optional(), score: z.number().min(0).max(1).optional() }),
    // The feedback that won: its label, its time and its document id in the feedback index.
    feedback: z.strictObject({ true_label: z.string().min(1), at: isoTimestamp, id: z.string().min(1) }),
    // A shadow prediction's document: the active answer to the same request, which the feedback labels too.
    shadow: z.strictObject({ active: z.strictObject({ version: z.string().min(1), prediction_id: z.string().min(1) }) }).optional(),
    labeled: z.strictObject({
      status: z.enum(LABELED_STATUSES),
      // 1 when the true (predicted) label is the model's positive class.
      positive: flag.optional(),
      predicted_positive: flag.optional(),
      correct: flag.optional(),
      // A shadow's document only: whether the active answer to the same request was right (McNemar's pairs).
      active_correct: flag.optional(),
      // That row's terms of the window's sums: log loss and Brier score, and the logit the ROC AUC histogram bins.
      log_loss: z.number().nonnegative().optional(),
      brier: z.number().min(0).max(1).optional(),
      logit: z.number().optional(),
    }),
  }),
});
export type LabeledDocument = z.infer<typeof labeledDocument>;
