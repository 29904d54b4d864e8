import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { ResourceEvent } from '@mlmon/contract';

export type GpuSample = NonNullable<ResourceEvent['mlmon']['resource']['host']['gpu']>[number];

const run = promisify(execFile);
const QUERY = ['index', 'name', 'utilization.gpu', 'memory.used', 'memory.total', 'temperature.gpu', 'power.draw'] as const;
const MIB = 1024 * 1024;

/** A number nvidia-smi printed, or undefined for its `[N/A]` / `[Not Supported]`. */
const num = (v: string | undefined) => {
  const x = Number(v);
  return v === undefined || v === '' || v.startsWith('[') || !Number.isFinite(x) ? undefined : x;
};

/**
 * One reading of every GPU from `nvidia-smi --query-gpu`, the CSV interface
 * NVIDIA keeps stable for scripts (the library no Node package binds). Undefined
 * when nvidia-smi is not on the PATH, fails or prints nothing usable: a host
 * without a GPU gets no GPU fields, and no error.
 */
export async function readGpus(timeoutMs = 5000): Promise<GpuSample[] | undefined> {
  let stdout: string;
  try {
    ({ stdout } = await run('nvidia-smi', [`--query-gpu=${QUERY.join(',')}`, '--format=csv,noheader,nounits'], { timeout: timeoutMs }));
  } catch {
    return undefined;
  }
  const gpus: GpuSample[] = [];
  for (const line of stdout.split('\n')) {
    const [index, name, util, used, total, temp, power] = line.split(',').map((c) => c.trim());
    const i = num(index);
    if (i === undefined || !name) continue;
    const memUsed = num(used);
    const memTotal = num(total);
    gpus.push({
      index: i,
      name,
      ...(num(util) !== undefined ? { utilization_pct: num(util)! } : {}),
      ...(memUsed !== undefined ? { memory_used_bytes: memUsed * MIB } : {}),
      ...(memTotal !== undefined ? { memory_total_bytes: memTotal * MIB } : {}),
      ...(num(temp) !== undefined ? { temperature_c: num(temp)! } : {}),
      ...(num(power) !== undefined ? { power_w: num(power)! } : {}),
    });
  }
  return gpus.length ? gpus : undefined;
}
