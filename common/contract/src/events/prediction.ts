import { z } from 'zod';
import { ecsBaseShape, ecsEvent, httpRequestId, modelRef } from './ecs.js';

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Feature values: named finite numbers (NaN and Infinity neither survive JSON nor index).
 *
 * The same contract as `z.record(z.string().min(1), z.number())`, with the same
 * issues, checked by one loop: the record schema runs a key and a value schema
 * per entry, which for a prediction's 30 features was 3 of the 5 µs its whole
 * line took to validate, and every prediction is validated when it is logged
 * and again when it is shipped. common/test/events.test.ts holds the two to
 * the same answers.
 */
export const featureValues = z.custom<Record<string, number>>().check((ctx) => {
  const value = ctx.value;
  if (!isRecord(value)) {
    ctx.issues.push({ code: 'invalid_type', expected: 'record', input: value });
    return;
  }
  for (const name in value) {
    const x = value[name];
    if (name === '') ctx.issues.push({ code: 'custom', message: 'feature names must not be empty', input: name, path: [name] });
    else if (typeof x !== 'number' || !Number.isFinite(x)) ctx.issues.push({ code: 'invalid_type', expected: 'number', input: x, path: [name] });
  }
});

/**
 * How the model was picked: the active version, the canary's share, a version the client asked for, or
 * the shadow: a copy of a request the active version answered, predicted after the answer left and never
 * shown to the client.
 */
export const MODEL_ROLES = ['active', 'canary', 'pinned', 'shadow'] as const;

/**
 * On a shadow prediction's line: the active answer to the same request (the replica still holds it when it
 * runs the copy), and what the paired analysis aggregates, derived once here so that every paired figure
 * is a plain aggregation over shadow lines.
 */
export const shadowPair = z.strictObject({
  active: z.strictObject({
    prediction_id: z.string().min(1),
    version: z.string().min(1),
    label: z.string().min(1),
    score: z.number().min(0).max(1),
    // The active line's event.duration.
    duration_ns: z.number().int().nonnegative(),
  }),
  // Both versions predicted the same label.
  agree: z.boolean(),
  // Shadow minus active: score, and this line's event.duration minus the active one's.
  score_diff: z.number().min(-1).max(1),
  latency_diff_ns: z.number().int(),
});
export type ShadowPair = z.infer<typeof shadowPair>;

export const predictionEvent = ecsEvent('mlmon.prediction', {
  // Nanoseconds, as ECS: this row's share of its batch (see `batch`).
  event: { duration: z.number().int().nonnegative() },
  ecs: {
    // Which replica answered is the point of a per-replica view, so it is required here.
    service: ecsBaseShape.service.extend({
      node: z.looseObject({ name: z.string().min(1) }),
    }),
    http: httpRequestId,
  },
  mlmon: {
    model: modelRef.extend({ role: z.enum(MODEL_ROLES) }),
    prediction: z.strictObject({
      id: z.string().min(1),
      label: z.string().min(1),
      // Probability of the model's positive class, so that scores of every version compare.
      score: z.number().min(0).max(1),
      features: featureValues,
      // Caller metadata for traceability; personal fields arrive here already pseudonymized (api/src/privacy.ts).
      context: z.record(z.string().min(1), z.string()).optional(),
      // How unlike the training rows this row is (the replica's reconstruction error, model/artifacts/<version>/reference.json),
      // flagged above the training rows' 99th percentile, which is `threshold`. Absent for a version without a reference.
      ood: z
        .strictObject({ score: z.number().nonnegative(), flag: z.boolean(), threshold: z.number().nonnegative() })
        .optional(),
      // The request this row came in: `event.duration` is the row's share of the batch's time, this the whole.
      batch: z.strictObject({ size: z.number().int().positive(), duration_ns: z.number().int().nonnegative() }).optional(),
      // On an active line whose request was copied to the shadow: the id the shadow's prediction of this row
      // carries, so that feedback for this prediction labels that one too.
      shadow_id: z.string().min(1).optional(),
    }),
    // On a shadow line only.
    shadow: shadowPair.optional(),
  },
});
export type PredictionEvent = z.infer<typeof predictionEvent>;
