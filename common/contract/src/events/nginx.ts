import { isIP } from 'node:net';
import { z } from 'zod';
import { ecsEvent } from './ecs.js';

/**
 * nginx writes these lines itself through a JSON `log_format`
 * (nginx/nginx.conf.mustache), so they are shaped as ECS already, with the
 * fields Elastic's own web-access views read: `event.duration` (ns),
 * `event.category/type/outcome`, `source.ip`, `user_agent.original`,
 * `http.version`, `url.path`.
 *
 * The upstream variables stay strings: when nginx retried on another replica
 * they hold one value per attempt ("502, 200"), and when nginx answered
 * itself (413) they are empty.
 */
export const nginxAccessEvent = ecsEvent('nginx.access', {
  event: {
    category: z.array(z.literal('web')),
    type: z.array(z.literal('access')),
    // ECS for web servers: a 4xx or 5xx is a failure; no status (000, the client left first) is unknown.
    outcome: z.enum(['success', 'failure', 'unknown']),
    // Nanoseconds; nginx measures to the millisecond.
    duration: z.number().int().nonnegative(),
  },
  ecs: {
    http: z.looseObject({
      // "1.1", "2.0": ECS keeps the number, not "HTTP/1.1".
      version: z.string(),
      request: z.looseObject({ id: z.string().min(1), method: z.string().min(1) }),
      response: z.looseObject({
        // null when nginx logs status 000 (no response was sent).
        status_code: z.number().int().min(100).max(599).nullable(),
        body: z.looseObject({ bytes: z.number().int().nonnegative() }),
      }),
    }),
    url: z.looseObject({ original: z.string(), path: z.string() }),
    // An ip field refuses anything else, so a bad value is caught here (dead letter, with the reason) rather than by a bulk error.
    source: z.looseObject({ ip: z.string().refine((v) => isIP(v) !== 0, 'must be an IPv4 or IPv6 address') }),
    user_agent: z.looseObject({ original: z.string() }),
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
