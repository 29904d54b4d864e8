import { z } from 'zod';
import { ecsEvent } from './ecs';

export const feedbackEvent = ecsEvent('mlmon.feedback', {
  mlmon: {
    prediction: z.object({ id: z.string().min(1) }).strict(),
    feedback: z
      .object({
        true_label: z.string().min(1),
        // How long the ground truth took to arrive; quality windows must wait at least this long.
        delay_ms: z.number().int().nonnegative(),
      })
      .strict(),
  },
});
export type FeedbackEvent = z.infer<typeof feedbackEvent>;
