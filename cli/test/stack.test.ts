import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEcsLine, type EventOf, type MlmonEvent } from '@mlmon/common';
import { testCluster } from '@mlmon/common/testing';
import { scaleReplicas, stackStatus } from '../src/stack/client';
import { REPO_ROOT, runPaths } from '../src/stack/paths';
import { isAlive, readStackFile, type StackFile } from '../src/stack/stack-file';
import { loadHoldout } from '../src/simulate/holdout';
import { newTally, runTraffic, type TrafficTally } from '../src/simulate/traffic';

/** A real stack (real nginx, real replicas, a supervisor) on ports of its own, in a run folder of its own. */
const cluster = testCluster();
// A run folder that does not exist yet, as in a fresh clone.
const paths = runPaths(path.join(mkdtempSync(path.join(os.tmpdir(), 'mlmon-stack-')), 'run'));
const env = { ...process.env, MLMON_RUN_DIR: paths.runDir, ES_URL: cluster.url, MLMON_INDEX_PREFIX: cluster.prefix };
const PORT = 18080;
let stack: StackFile;
const rows = loadHoldout();

function mlmon(...args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'cli/src/main.ts'), ...args], { cwd: REPO_ROOT, env });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('exit', (code) => resolve({ code, out }));
  });
}

const errorsOf = (t: TrafficTally) => t.sent - t.ok;

function events<D extends MlmonEvent['event']['dataset']>(file: string, dataset: D): Array<EventOf<D>> {
  return readFileSync(path.join(paths.logs, file), 'utf8')
    .trim()
    .split('\n')
    .map((l) => parseEcsLine(l))
    .filter((e): e is EventOf<D> => e.event.dataset === dataset);
}

beforeAll(async () => {
  const up = await mlmon('up', '--replicas', '3', '--port', String(PORT), '--replica-port', '19001');
  expect(up.code, up.out).toBe(0);
  expect(up.out).toContain(`http://127.0.0.1:${PORT}`);
  stack = readStackFile(paths)!;
}, 120_000);

afterAll(async () => {
  if (stack && isAlive(stack.supervisorPid)) await mlmon('down');
  await cluster.cleanup();
}, 60_000);

describe('the local stack: nginx in front of supervised replicas', () => {
  it('spreads 600 requests over 3 replicas, each taking at least 20%', async () => {
    const t = await runTraffic({ url: stack.url, rows, rate: 300, seconds: 2 });
    expect(t.sent).toBe(600);
    expect(t.ok).toBe(600);
    expect([...t.byReplica.keys()].sort()).toEqual(['replica-1', 'replica-2', 'replica-3']);
    for (const [replica, n] of t.byReplica) expect(n / 600, replica).toBeGreaterThanOrEqual(0.2);
  });

  it('carries one request id from the response to the nginx access line and the api prediction line', async () => {
    const t = await runTraffic({ url: stack.url, rows, rate: 50, seconds: 1 });
    const access = events('nginx-access.ndjson', 'nginx.access');
    expect(t.requests.length).toBe(50);
    for (const r of t.requests) {
      expect(r.requestId).toMatch(/^[0-9a-f]{32}$/);
      const line = access.find((e) => e.http.request.id === r.requestId);
      expect(line?.http.response.status_code).toBe(200);
      // The last upstream attempt is the replica that answered (earlier ones may be empty slots).
      expect(line?.mlmon.nginx.upstream.address.split(', ').at(-1)).toBe(`127.0.0.1:${stackPort(r.replica)}`);
      const prediction = events(`api-${r.replica}.ndjson`, 'mlmon.prediction').find((e) => e.http.request.id === r.requestId);
      expect(prediction?.mlmon.prediction.id).toBe(r.predictionId);
    }
  });

  it('ships every answered prediction to Elasticsearch exactly once', async () => {
    const t = await runTraffic({ url: stack.url, rows, rate: 150, seconds: 2 });
    expect(t.ok).toBe(300);
    const ids = t.requests.map((r) => r.predictionId);
    const count = () => cluster.client.count({ index: `${cluster.prefix}-predictions-*`, query: { ids: { values: ids } } }).then((r) => r.count);
    await expect.poll(count, { timeout: 30_000, interval: 500 }).toBe(300);
  });

  it('loses at most 0.1% of requests when a replica is killed -9 under load, and restarts it', async () => {
    const victim = (await stackStatus(stack)).processes.find((p) => p.name === 'replica-2')!;
    const traffic = runTraffic({ url: stack.url, rows, rate: 200, seconds: 6 });
    await sleep(2000);
    process.kill(victim.pid!, 'SIGKILL');
    const t = await traffic;
    expect(t.sent).toBe(1200);
    expect(errorsOf(t)).toBeLessThanOrEqual(1);
    await expect.poll(async () => (await stackStatus(stack)).processes.find((p) => p.name === 'replica-2'), { timeout: 15_000 }).toMatchObject({ state: 'running', restarts: 1 });
  });

  it('adds and then removes a replica under load without failing a request', async () => {
    const live = newTally();
    const traffic = runTraffic({ url: stack.url, rows, rate: 200, seconds: 10 }, live);
    await sleep(1000);
    expect((await scaleReplicas(stack, 4)).processes.map((p) => p.name)).toContain('replica-4');
    // nginx routes to the new slot once it has rested for fail_timeout (3 s).
    await expect.poll(() => live.byReplica.get('replica-4') ?? 0, { timeout: 6000 }).toBeGreaterThan(0);
    expect((await scaleReplicas(stack, 3)).processes.map((p) => p.name)).not.toContain('replica-4');
    const t = await traffic;
    expect(t.sent).toBe(2000);
    expect(errorsOf(t)).toBe(0);
    expect(t.byReplica.get('replica-4')).toBeGreaterThan(0);
  });

  it('`mlmon simulate steady` ends with no errors', async () => {
    const run = await mlmon('simulate', 'steady', '--rate', '50', '--duration', '3');
    expect(run.code, run.out).toBe(0);
    expect(run.out).toMatch(/sent 150, ok 150, errors none/);
  });

  it('`mlmon down` leaves no process behind', async () => {
    const { processes } = await stackStatus(stack);
    const nginxMaster = processes.find((p) => p.name === 'nginx')!.pid!;
    const workers = execFileSync('ps', ['-o', 'pid=', '--ppid', String(nginxMaster)], { encoding: 'utf8' }).trim().split(/\s+/).map(Number);
    const pids = [stack.supervisorPid, nginxMaster, ...workers, ...processes.map((p) => p.pid!)];
    expect(processes.map((p) => p.name)).toContain('log-shipper');
    expect(pids.length).toBeGreaterThanOrEqual(7);
    const down = await mlmon('down');
    expect(down.code, down.out).toBe(0);
    await expect.poll(() => pids.filter(isAlive), { timeout: 10_000 }).toEqual([]);
    expect(readStackFile(paths)).toBeUndefined();
  }, 60_000);
});

function stackPort(replica: string): number {
  return 19000 + Number(replica.replace('replica-', ''));
}
