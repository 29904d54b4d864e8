import { z } from 'zod';

/** The members of model/artifacts/<version>/model_card.json the api relies on. */
export const modelCard = z
  .looseObject({
    name: z.string().min(1),
    version: z.string().min(1),
    algorithm: z.string().optional(),
    feature_names: z.array(z.string().min(1)).min(1),
    class_labels: z.array(z.string().min(1)).min(2),
    positive_label: z.string().min(1),
    input: z.looseObject({ name: z.string(), dtype: z.enum(['float32', 'float64']) }),
    holdout_metrics: z.record(z.string(), z.number()).optional(),
  })
  .refine((c) => c.class_labels.includes(c.positive_label), { message: 'positive_label must be one of class_labels' });

export type ModelCard = z.infer<typeof modelCard>;
