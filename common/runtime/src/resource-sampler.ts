import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createOSUtils } from 'node-os-utils';
import type { EventLog } from './event-log.js';
import { readGpus } from './gpu.js';
import type { ResourceEvent } from '@mlmon/contract';

type ResourceFields = ResourceEvent['mlmon']['resource'];

// The histogram records the time between its timer's ticks, so it includes this interval itself.
const LOOP_RESOLUTION_MS = 10;

/**
 * Every interval, one `mlmon.resource` line: this process's CPU, memory and
 * event-loop delay, and the host's CPU and memory, plus what the service adds
 * through `extra` (requests in flight for a replica, counters for the shipper),
 * and each GPU's utilization, memory, temperature and power where nvidia-smi runs.
 */
export function startResourceSampler(opts: {
  log: EventLog;
  intervalMs: number;
  extra?: () => Omit<Partial<ResourceFields>, 'process' | 'host'>;
  message?: (fields: ResourceFields) => string;
}): { stop: () => void; sampleNow: () => Promise<void> } {
  // Each sample must be fresh: the library's cache would repeat one reading across intervals.
  const os = createOSUtils({ cacheEnabled: false });
  const loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  loop.enable();
  let lastCpu = process.cpuUsage();
  let lastAt = process.hrtime.bigint();
  let stopped = false;

  const sample = async () => {
    const [cpu, mem, gpu] = await Promise.all([os.cpu.usage(), os.memory.info(), readGpus()]);
    if (stopped) return;
    const now = process.hrtime.bigint();
    const used = process.cpuUsage(lastCpu);
    const elapsedUs = Number(now - lastAt) / 1000;
    lastCpu = process.cpuUsage();
    lastAt = now;
    const m = process.memoryUsage();
    const resource: ResourceFields = {
      process: {
        // Can exceed 100 on a multi-core host, as in `top`.
        cpu_pct: elapsedUs > 0 ? ((used.user + used.system) / elapsedUs) * 100 : 0,
        rss_bytes: m.rss,
        heap_used_bytes: m.heapUsed,
        heap_total_bytes: m.heapTotal,
        event_loop_delay_p99_ms: Math.max(0, loop.percentile(99) / 1e6 - LOOP_RESOLUTION_MS),
      },
      host: {
        cpu_pct: cpu.success ? cpu.data : 0,
        memory_used_pct: mem.success ? mem.data.usagePercentage : 0,
        memory_total_bytes: mem.success ? mem.data.total.toBytes() : 0,
        ...(gpu ? { gpu } : {}),
      },
      ...opts.extra?.(),
    };
    void opts.log.write('mlmon.resource', 'info', opts.message?.(resource) ?? 'resource sample', { mlmon: { resource } });
    loop.reset();
  };

  const timer = setInterval(() => void sample().catch(() => {}), opts.intervalMs);
  timer.unref();
  return {
    /** One sample at once, e.g. a final line at shutdown. */
    sampleNow: sample,
    stop: () => {
      stopped = true;
      clearInterval(timer);
      loop.disable();
      os.destroy();
    },
  };
}
