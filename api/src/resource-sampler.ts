import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createOSUtils } from 'node-os-utils';
import type { EventLog } from '@mlmon/common';

// The histogram records the time between its timer's ticks, so it includes this interval itself.
const LOOP_RESOLUTION_MS = 10;

/**
 * Every interval, one `mlmon.resource` line: this process's CPU, memory and
 * event-loop delay, requests in flight, and the host's CPU and memory.
 */
export function startResourceSampler(opts: {
  log: EventLog;
  intervalMs: number;
  inFlight?: () => number;
}): { stop: () => void } {
  // Each sample must be fresh: the library's cache would repeat one reading across intervals.
  const os = createOSUtils({ cacheEnabled: false });
  const loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  loop.enable();
  let lastCpu = process.cpuUsage();
  let lastAt = process.hrtime.bigint();
  let stopped = false;

  const sample = async () => {
    const [cpu, mem] = await Promise.all([os.cpu.usage(), os.memory.info()]);
    if (stopped) return;
    const now = process.hrtime.bigint();
    const used = process.cpuUsage(lastCpu);
    const elapsedUs = Number(now - lastAt) / 1000;
    lastCpu = process.cpuUsage();
    lastAt = now;
    const m = process.memoryUsage();
    const inFlight = opts.inFlight?.();
    opts.log.write('mlmon.resource', 'info', 'resource sample', {
      mlmon: {
        resource: {
          process: {
            cpu_pct: elapsedUs > 0 ? ((used.user + used.system) / elapsedUs) * 100 : 0,
            rss_bytes: m.rss,
            heap_used_bytes: m.heapUsed,
            heap_total_bytes: m.heapTotal,
            event_loop_delay_p99_ms: Math.max(0, loop.percentile(99) / 1e6 - LOOP_RESOLUTION_MS),
          },
          ...(inFlight === undefined ? {} : { in_flight_requests: inFlight }),
          host: {
            cpu_pct: cpu.success ? cpu.data : 0,
            memory_used_pct: mem.success ? mem.data.usagePercentage : 0,
            memory_total_bytes: mem.success ? mem.data.total.toBytes() : 0,
          },
        },
      },
    });
    loop.reset();
  };

  const timer = setInterval(() => void sample().catch(() => {}), opts.intervalMs);
  timer.unref();
  return {
    stop: () => {
      stopped = true;
      clearInterval(timer);
      loop.disable();
      os.destroy();
    },
  };
}
