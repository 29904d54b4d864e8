import { z } from 'zod';
import { ecsEvent } from './ecs.js';

const pct = z.number().min(0);
const bytes = z.number().int().nonnegative();
const count = z.number().int().nonnegative();

export const resourceEvent = ecsEvent('mlmon.resource', {
  mlmon: {
    resource: z.strictObject({
      process: z.strictObject({
        // Can exceed 100 on a multi-core host, as in `top`.
        cpu_pct: pct,
        rss_bytes: bytes,
        heap_used_bytes: bytes,
        heap_total_bytes: bytes,
        event_loop_delay_p99_ms: z.number().nonnegative(),
      }),
      // Only services that serve requests report this.
      in_flight_requests: z.number().int().nonnegative().optional(),
      // Only a replica with a shadow version reports this: its shadow copies since the process started.
      shadow: z
        .strictObject({
          // Copies waiting or running now.
          queue_depth: count,
          // Copies not made because the queue was full: the live request was answered, its shadow skipped.
          dropped: count,
          // Copies that failed (the shadow threw, or refused the row) or ran past the timeout.
          errors: count,
          timeouts: count,
          completed: count,
        })
        .optional(),
      // Only the log shipper reports this: its own progress, so that its health is searchable beside what it ships.
      shipper: z
        .strictObject({
          // Counters since the shipper process started.
          lines_read: count,
          indexed: count,
          dead_lettered: count,
          retried: count,
          // Bytes in the tailed files not yet acknowledged by Elasticsearch, and the age of the oldest such line.
          lag_bytes: bytes,
          lag_seconds: z.number().nonnegative(),
        })
        .optional(),
      // Only the log shipper reports this: the Elasticsearch cluster's health as the shipper last saw it.
      cluster: z
        .strictObject({
          name: z.string(),
          status: z.enum(['green', 'yellow', 'red']),
          nodes: count,
          data_nodes: count,
          unassigned_shards: count,
          active_shards_pct: pct,
          // Seconds since this shipper last saw the cluster green (0 while it is): how long a yellow has lasted.
          not_green_seconds: z.number().nonnegative(),
        })
        .optional(),
      // Only the local stack's supervisor reports this: the replicas it keeps running (its desired set), so that
      // rules tell a replica removed on purpose from one that stopped reporting.
      replicas: z.strictObject({ desired: z.array(z.string()), count }).optional(),
      host: z.strictObject({
        cpu_pct: pct,
        memory_used_pct: pct,
        memory_total_bytes: bytes,
        // One entry per GPU nvidia-smi reports; absent on a host without one. A field nvidia-smi
        // cannot read on a card ([N/A], e.g. power on some models) is left out of its entry.
        gpu: z
          .array(
            z.strictObject({
              index: count,
              name: z.string().min(1),
              utilization_pct: pct.max(100).optional(),
              memory_used_bytes: bytes.optional(),
              memory_total_bytes: bytes.optional(),
              temperature_c: z.number().optional(),
              power_w: z.number().nonnegative().optional(),
            }),
          )
          .min(1)
          .optional(),
      }),
    }),
  },
});
export type ResourceEvent = z.infer<typeof resourceEvent>;
