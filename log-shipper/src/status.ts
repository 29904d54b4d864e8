import type { Client } from '@elastic/elasticsearch';
import type { ResourceEvent } from '@mlmon/contract';
import { startResourceSampler, type EventLog } from '@mlmon/runtime';
import type { ShipperStats } from './shipper.js';

type ClusterHealth = NonNullable<ResourceEvent['mlmon']['resource']['cluster']>;

/**
 * Follows the cluster's health for the status line: the shipper is the one
 * mlmon process every deployment runs and that talks to the cluster all the
 * time, so its samples are the cluster's health history (the cluster-health
 * rule and the dashboards read them). `not_green_seconds` counts from the last
 * green this process saw, so a rule can tell a yellow that lasts from one that
 * passes (a replica being allocated). A failed call leaves the last answer out:
 * the line is not about a cluster it could not ask.
 */
export function watchClusterHealth(client: Client, clock: () => number = Date.now): { sample: () => Promise<void>; latest: () => ClusterHealth | undefined } {
  let latest: ClusterHealth | undefined;
  let lastGreen = clock();
  return {
    latest: () => latest,
    async sample() {
      try {
        const h = await client.cluster.health({}, { requestTimeout: 5000 });
        const now = clock();
        if (h.status === 'green') lastGreen = now;
        latest = {
          name: h.cluster_name,
          status: h.status.toLowerCase() as ClusterHealth['status'],
          nodes: h.number_of_nodes,
          data_nodes: h.number_of_data_nodes,
          unassigned_shards: h.unassigned_shards,
          active_shards_pct: Number(h.active_shards_percent_as_number),
          not_green_seconds: (now - lastGreen) / 1000,
        };
      } catch {
        latest = undefined;
      }
    },
  };
}

/**
 * The shipper's status line: an `mlmon.resource` event like every service's
 * resource sample (its own CPU, memory, event-loop delay and the host's), plus
 * `mlmon.resource.shipper` with its counters and lag and
 * `mlmon.resource.cluster` with the cluster's health. It is written to the
 * shipper's own log file, which the shipper tails like any other, so its health
 * is in Elasticsearch beside what it ships, and still on disk when it is not.
 */
export function startStatus(opts: { log: EventLog; intervalMs: number; stats: () => ShipperStats; client: Client }) {
  const health = watchClusterHealth(opts.client);
  let stopped = false;
  // Its own loop, so that a slow answer delays no status line (the line carries the latest one).
  void (async () => {
    while (!stopped) {
      await health.sample();
      await new Promise((r) => setTimeout(r, opts.intervalMs).unref());
    }
  })();
  const sampler = startResourceSampler({
    log: opts.log,
    intervalMs: opts.intervalMs,
    extra: () => {
      const cluster = health.latest();
      return { shipper: opts.stats(), ...(cluster ? { cluster } : {}) };
    },
    message: (r) =>
      `shipper status: ${r.shipper?.indexed ?? 0} indexed, lag ${r.shipper?.lag_bytes ?? 0} bytes / ${(r.shipper?.lag_seconds ?? 0).toFixed(1)} s` +
      (r.cluster ? `, cluster ${r.cluster.status}` : ', cluster not answering'),
  });
  return {
    sampleNow: sampler.sampleNow,
    stop: () => {
      stopped = true;
      sampler.stop();
    },
  };
}
