import { z } from 'zod';
import { ecsEvent } from './ecs.js';

export const feedbackEvent = ecsEvent('mlmon.feedback', {
  mlmon: {
    prediction: z.strictObject({ id: z.string().min(1) }),
    feedback: z.strictObject({
      true_label: z.string().min(1),
      // How long the ground truth took to arrive; quality windows must wait at least this long.
      delay_ms: z.number().int().nonnegative(),
    }),
  },
});
export type FeedbackEvent = z.infer<typeof feedbackEvent>;
