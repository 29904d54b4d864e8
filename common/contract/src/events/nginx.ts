import { z } from 'zod';
import { ecsEvent } from './ecs.js';

/**
 * nginx writes these lines itself through a JSON `log_format`, so they are
 * shaped as ECS already. The upstream variables stay strings: when nginx
 * retried on another replica they hold one value per attempt ("502, 200"),
 * and when nginx answered itself (413) they are empty.
 */
export const nginxAccessEvent = ecsEvent('nginx.access', {
  ecs: {
    http: z.looseObject({
      request: z.looseObject({ id: z.string().min(1), method: z.string().min(1) }),
      response: z.looseObject({
        status_code: z.number().int().min(100).max(599),
        body: z.looseObject({ bytes: z.number().int().nonnegative() }),
      }),
    }),
    url: z.looseObject({ original: z.string() }),
  },
  mlmon: {
    nginx: z.strictObject({
      request_time_s: z.number().nonnegative(),
      upstream: z.strictObject({
        address: z.string(),
        status: z.string(),
        response_time_s: z.string(),
      }),
    }),
  },
});
export type NginxAccessEvent = z.infer<typeof nginxAccessEvent>;
