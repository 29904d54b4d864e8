import { startResourceSampler, type EventLog } from '@mlmon/runtime';
import type { ShipperStats } from './shipper.js';

/**
 * The shipper's status line: an `mlmon.resource` event like every service's
 * resource sample (its own CPU, memory, event-loop delay and the host's), plus
 * `mlmon.resource.shipper` with its counters and lag. It is written to the
 * shipper's own log file, which the shipper tails like any other, so its health
 * is in Elasticsearch beside what it ships, and still on disk when it is not.
 */
export function startStatus(opts: { log: EventLog; intervalMs: number; stats: () => ShipperStats }) {
  return startResourceSampler({
    log: opts.log,
    intervalMs: opts.intervalMs,
    extra: () => ({ shipper: opts.stats() }),
    message: (r) => `shipper status: ${r.shipper?.indexed ?? 0} indexed, lag ${r.shipper?.lag_bytes ?? 0} bytes / ${(r.shipper?.lag_seconds ?? 0).toFixed(1)} s`,
  });
}
