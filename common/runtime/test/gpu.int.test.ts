import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { parseEcsLine, setupTemplates } from '@mlmon/contract';
import { testCluster } from '@mlmon/elasticsearch/testing';
import { createEventLog, readGpus, startResourceSampler, writeEvents } from '../src/index.js';

const cluster = testCluster();
const { client, prefix } = cluster;
const root = mkdtempSync(path.join(os.tmpdir(), 'mlmon-gpu-'));
const originalPath = process.env.PATH;
afterEach(() => {
  process.env.PATH = originalPath;
});
afterAll(async () => {
  rmSync(root, { recursive: true, force: true });
  await cluster.cleanup();
});

/** A fake nvidia-smi (nvidia-smi cannot run here: no GPU) first on the PATH: it prints `out` and exits with `code`. */
function fakeNvidiaSmi(name: string, out: string, code = 0): void {
  const dir = path.join(root, name);
  mkdirSync(dir);
  const file = path.join(dir, 'nvidia-smi');
  writeFileSync(file, `#!/bin/sh\nprintf '${out}'\n${code === 0 ? '' : "echo 'NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver.' >&2\n"}exit ${code}\n`);
  chmodSync(file, 0o755);
  process.env.PATH = `${dir}:${originalPath}`;
}

// What `nvidia-smi --query-gpu=index,name,utilization.gpu,memory.used,memory.total,temperature.gpu,power.draw --format=csv,noheader,nounits` prints for two cards, one without power readings.
const TWO_GPUS = '0, NVIDIA A100-SXM4-40GB, 87, 30210, 40960, 64, 312.45\\n1, Tesla T4, 3, 0, 15360, 41, [N/A]\\n';

async function oneSample(name: string) {
  const log = createEventLog({ service: 'mlmon-test', node: name, dir: path.join(root, `log-${name}`), basename: 'events', maxBytes: 1e9, maxFiles: 1 });
  const sampler = startResourceSampler({ log, intervalMs: 60_000 });
  await sampler.sampleNow();
  sampler.stop();
  await log.close();
  return readFileSync(log.file, 'utf8').split('\n').filter(Boolean).map((l) => parseEcsLine(l));
}

describe('GPU samples', () => {
  it('reads every GPU nvidia-smi reports, leaving out what it cannot read', async () => {
    fakeNvidiaSmi('two', TWO_GPUS);
    expect(await readGpus()).toEqual([
      { index: 0, name: 'NVIDIA A100-SXM4-40GB', utilization_pct: 87, memory_used_bytes: 30210 * 1048576, memory_total_bytes: 40960 * 1048576, temperature_c: 64, power_w: 312.45 },
      { index: 1, name: 'Tesla T4', utilization_pct: 3, memory_used_bytes: 0, memory_total_bytes: 15360 * 1048576, temperature_c: 41 },
    ]);
  });

  it('has no GPU fields and no error when nvidia-smi fails or is not on the PATH', async () => {
    fakeNvidiaSmi('failing', '', 9);
    expect(await readGpus()).toBeUndefined();
    const [line] = await oneSample('failing');
    expect(line!.event.dataset).toBe('mlmon.resource');
    expect((line as { mlmon: { resource: { host: object } } }).mlmon.resource.host).not.toHaveProperty('gpu');

    process.env.PATH = path.join(root, 'empty-path');
    expect(await readGpus()).toBeUndefined();
  });

  it('puts the samples in Elasticsearch, where the gpu-saturation query finds the busiest card', async () => {
    fakeNvidiaSmi('indexed', TWO_GPUS);
    const lines = await oneSample('gpu-host');
    await setupTemplates(client, { prefix });
    await writeEvents(client, { prefix, events: lines, refresh: true });
    const res = await client.search({
      index: `${prefix}-resources-*`,
      size: 0,
      query: { term: { 'service.node.name': 'gpu-host' } },
      aggs: { busiest: { max: { field: 'mlmon.resource.host.gpu.utilization_pct' } }, memory: { max: { field: 'mlmon.resource.host.gpu.memory_total_bytes' } } },
    });
    expect((res.aggregations!.busiest as { value: number }).value).toBe(87);
    expect((res.aggregations!.memory as { value: number }).value).toBe(40960 * 1048576);
  });
});
