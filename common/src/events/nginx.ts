import { z } from 'zod';
import { ecsEvent } from './ecs';

/**
 * nginx writes these lines itself through a JSON `log_format`, so they are
 * shaped as ECS already. The upstream variables stay strings: when nginx
 * retried on another replica they hold one value per attempt ("502, 200"),
 * and when nginx answered itself (413) they are empty.
 */
export const nginxAccessEvent = ecsEvent('nginx.access', {
  ecs: {
    http: z
      .object({
        request: z.object({ id: z.string().min(1), method: z.string().min(1) }).passthrough(),
        response: z
          .object({
            status_code: z.number().int().min(100).max(599),
            body: z.object({ bytes: z.number().int().nonnegative() }).passthrough(),
          })
          .passthrough(),
      })
      .passthrough(),
    url: z.object({ original: z.string() }).passthrough(),
  },
  mlmon: {
    nginx: z
      .object({
        request_time_s: z.number().nonnegative(),
        upstream: z
          .object({
            address: z.string(),
            status: z.string(),
            response_time_s: z.string(),
          })
          .strict(),
      })
      .strict(),
  },
});
export type NginxAccessEvent = z.infer<typeof nginxAccessEvent>;
