import { z } from 'zod';
import { ecsBaseShape, ecsEvent, httpRequestId, modelRef } from './ecs';

/** Feature values are finite numbers: NaN and Infinity cannot be serialized faithfully to JSON or indexed. */
export const featureValues = z.record(z.string().min(1), z.number().finite());

/** How the model was picked: the active version, the canary's share, or a version the client asked for. */
export const MODEL_ROLES = ['active', 'canary', 'pinned'] as const;

export const predictionEvent = ecsEvent('mlmon.prediction', {
  event: { duration: z.number().int().nonnegative() },
  ecs: {
    // Which replica answered is the point of a per-replica view, so it is required here.
    service: ecsBaseShape.service.extend({
      node: z.object({ name: z.string().min(1) }).passthrough(),
    }),
    http: httpRequestId,
  },
  mlmon: {
    model: modelRef.extend({ role: z.enum(MODEL_ROLES) }),
    prediction: z
      .object({
        id: z.string().min(1),
        label: z.string().min(1),
        // Probability of the model's positive class, so that scores of every version compare.
        score: z.number().min(0).max(1),
        features: featureValues,
      })
      .strict(),
  },
});
export type PredictionEvent = z.infer<typeof predictionEvent>;
