import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testCluster } from '@mlmon/elasticsearch/testing';
import { freePortBlock } from '@mlmon/runtime';
import { trail } from './loop-support.js';
import { TOKEN, alert, events, hook, remediatorFor, tempDir } from './support.js';

/**
 * The one test file with a real local stack: `mlmon up` (supervisor, nginx, replicas,
 * shipper, and the remediator it runs) on free ports, in a run folder of its own.
 * Every webhook here scales or restarts real processes through the supervisor's
 * control API; the safety tests start more remediators in this process against the
 * same supervisor, each with a state file and settings of its own.
 */
const cluster = testCluster();
const runDir = path.join(tempDir('remediator-stack'), 'run');
const env = { ...process.env, MLMON_RUN_DIR: runDir, MLMON_ES_URL: cluster.url, MLMON_INDEX_PREFIX: cluster.prefix };
const CLI = path.resolve(import.meta.dirname, '../../cli/dist/main.js');
let stack: { controlUrl: string; remediatorUrl: string; adminToken: string; logDir: string; url: string };

function mlmon(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('exit', (code) => resolve({ code, out }));
  });
}

interface Proc {
  name: string;
  pid?: number;
  state: string;
  restarts: number;
}
async function processes(): Promise<Proc[]> {
  const res = await fetch(`${stack.controlUrl}/status`, { headers: { authorization: `Bearer ${stack.adminToken}` } });
  return ((await res.json()) as { processes: Proc[] }).processes;
}
const replicaCount = async () => (await processes()).filter((p) => p.name.startsWith('replica-')).length;
/** Safety settings for an in-process remediator on the stack's supervisor. */
const onStack = (extra: Record<string, string>) =>
  remediatorFor({ MLMON_SUPERVISOR_URL: stack.controlUrl, MLMON_SUPERVISOR_TOKEN: stack.adminToken, MLMON_REMEDIATOR_MAX_REPLICAS: '2', MLMON_REMEDIATOR_COOLDOWN: '0s', MLMON_REMEDIATOR_FLAP_WINDOW: '0s', MLMON_REMEDIATOR_SCALE_IN_STABILIZATION: '0s', ...extra });

beforeAll(async () => {
  // One block for every port the stack binds (nginx, status +1, remediator +2, control +10, replicas +11).
  const port = await freePortBlock(13);
  const replicaPort = port + 11;
  // Two slots: at most two replicas ever run here, to spare the shared CPU.
  const run = await mlmon(['up', '--replicas', '1', '--max-replicas', '2', '--port', String(port), '--replica-port', String(replicaPort), '--remediator-port', String(port + 2)]);
  expect(run.code, run.out).toBe(0);
  stack = JSON.parse(readFileSync(path.join(runDir, 'stack.json'), 'utf8'));
}, 180_000);

afterAll(async () => {
  await mlmon(['down']);
  await cluster.cleanup();
}, 60_000);

describe('the remediator `mlmon up` runs, on the real supervisor', () => {
  const first = alert({ watch_id: 'p99-latency' });

  it('scales out once for one alert execution, however often it is delivered', async () => {
    expect(await replicaCount()).toBe(1);
    const res = await hook(stack.remediatorUrl, 'scale-out', first, `Bearer ${stack.adminToken}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ decision: 'executed', replicas: { before: 1, after: 2 } });
    expect(await replicaCount()).toBe(2);
    // Watcher retried: same execution id, twice at once, then again.
    const replays = await Promise.all([1, 2].map(() => hook(stack.remediatorUrl, 'scale-out', first, `Bearer ${stack.adminToken}`)));
    replays.push(await hook(stack.remediatorUrl, 'scale-out', first, `Bearer ${stack.adminToken}`));
    for (const r of replays) expect(r.body).toMatchObject({ decision: 'duplicate', reason: 'already_executed' });
    expect(await replicaCount()).toBe(2);
  });

  it('refuses a scale-in inside the flap window after that scale-out', async () => {
    const res = await hook(stack.remediatorUrl, 'scale-in', alert(), `Bearer ${stack.adminToken}`);
    expect(res.body).toMatchObject({ decision: 'refused', reason: 'flapping' });
    expect(await replicaCount()).toBe(2);
  });

  it('restarts a replica that hangs (SIGSTOP: alive to the supervisor, answering nothing)', async () => {
    const before = (await processes()).find((p) => p.name === 'replica-2')!;
    process.kill(before.pid!, 'SIGSTOP');
    const res = await hook(stack.remediatorUrl, 'restart-replica', alert({ target: 'replica-2' }), `Bearer ${stack.adminToken}`);
    expect(res.body).toMatchObject({ decision: 'executed', target: 'replica-2' });
    const after = (await processes()).find((p) => p.name === 'replica-2')!;
    expect(after).toMatchObject({ state: 'running', restarts: before.restarts + 1 });
    expect(after.pid).not.toBe(before.pid);
    expect((await fetch(`${stack.url}/readyz`)).status).toBe(200);
    const unknown = await hook(stack.remediatorUrl, 'restart-replica', alert({ target: 'replica-9' }), `Bearer ${stack.adminToken}`);
    expect(unknown.body).toMatchObject({ decision: 'refused', reason: 'unknown_replica' });
  }, 60_000);

  it('ships every decision to Elasticsearch, where one search by execution id finds the trail', async () => {
    const search = () =>
      trail(cluster.client, cluster.prefix, first.execution_id as string)
        .then((events) => events.map((e) => ('remediation' in e.mlmon ? e.mlmon.remediation.decision : e.event.dataset)).sort())
        .catch(() => []);
    await expect.poll(search, { timeout: 30_000, interval: 500 }).toEqual(['duplicate', 'duplicate', 'duplicate', 'executed']);
  });
});

describe('safety limits, against the same supervisor', () => {
  it('never goes below the minimum or above the maximum', async () => {
    const r = await onStack({});
    try {
      expect(await replicaCount()).toBe(2);
      expect((await hook(r.url, 'scale-out', alert())).body).toMatchObject({ decision: 'refused', reason: 'at_max_replicas', replicas: { before: 2, after: 2 } });
      expect((await hook(r.url, 'scale-in', alert())).body).toMatchObject({ decision: 'executed', replicas: { before: 2, after: 1 } });
      expect((await hook(r.url, 'scale-in', alert())).body).toMatchObject({ decision: 'refused', reason: 'at_min_replicas' });
      expect(await replicaCount()).toBe(1);
    } finally {
      await r.close();
    }
  }, 60_000);

  it('in dry run, records what it would do and changes nothing; cooldown, limits and flapping apply as if live', async () => {
    const r = await onStack({ MLMON_REMEDIATOR_DRY_RUN: 'true', MLMON_REMEDIATOR_COOLDOWN: '10m', MLMON_REMEDIATOR_FLAP_WINDOW: '10m', MLMON_REMEDIATOR_MAX_ACTIONS_PER_HOUR: '2' });
    try {
      const out = await hook(r.url, 'scale-out', alert());
      expect(out.body).toMatchObject({ decision: 'dry_run', dry_run: true, replicas: { before: 1, after: 2 } });
      expect(out.body.detail).toMatch(/^would scale/);
      // Second scale-out: inside the cooldown of the first.
      expect((await hook(r.url, 'scale-out', alert())).body).toMatchObject({ decision: 'skipped_cooldown', reason: 'cooldown' });
      // Scale-in right after a scale-out: flapping (said first, though one replica is also the minimum).
      expect((await hook(r.url, 'scale-in', alert())).body).toMatchObject({ decision: 'refused', reason: 'flapping' });
      // Two acting decisions so far would be the hourly limit after the next one: restarts of two targets.
      expect((await hook(r.url, 'restart-replica', alert({ target: 'replica-1' }))).body).toMatchObject({ decision: 'dry_run' });
      expect((await hook(r.url, 'restart-replica', alert({ target: 'replica-2' }))).body).toMatchObject({ decision: 'refused', reason: 'rate_limited' });
      expect(await replicaCount()).toBe(1);
      expect((await processes()).find((p) => p.name === 'replica-1')!.restarts).toBe(0);
      const decisions = events(r.logDir, 'mlmon.remediation').map((e) => [e.mlmon.remediation.decision, e.mlmon.remediation.dry_run]);
      expect(decisions).toEqual([
        ['dry_run', true],
        ['skipped_cooldown', true],
        ['refused', true],
        ['dry_run', true],
        ['refused', true],
      ]);
    } finally {
      await r.close();
    }
  });

  it('keeps its memory across a restart: a replay stays a duplicate, a cooldown stays in force', async () => {
    const dir = tempDir('remediator-restart');
    const settings = { MLMON_LOG_DIR: dir, MLMON_REMEDIATOR_DRY_RUN: 'true', MLMON_REMEDIATOR_COOLDOWN: '10m' };
    const once = alert();
    const a = await onStack(settings);
    expect((await hook(a.url, 'scale-out', once)).body.decision).toBe('dry_run');
    await a.close();
    const b = await onStack(settings);
    try {
      expect((await hook(b.url, 'scale-out', once)).body).toMatchObject({ decision: 'duplicate', reason: 'already_dry_run' });
      expect((await hook(b.url, 'scale-out', alert())).body.decision).toBe('skipped_cooldown');
      const recent = (await (await fetch(`${b.url}/v1/actions?limit=3`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { actions: Array<{ decision: string }> };
      expect(recent.actions.map((d) => d.decision)).toEqual(['skipped_cooldown', 'duplicate', 'dry_run']);
    } finally {
      await b.close();
    }
  });

  it('with MLMON_REMEDIATOR_SCALE_OWNER=external, leaves the replica count to the autoscaler and still restarts a replica', async () => {
    const r = await onStack({ MLMON_REMEDIATOR_SCALE_OWNER: 'external' });
    try {
      const before = await replicaCount();
      for (const name of ['scale-out', 'scale-in']) {
        const res = await hook(r.url, name, alert());
        expect(res.status).toBe(200);
        expect(res.body).toMatchObject({ decision: 'refused', reason: 'scale_owner_external', target: 'local/replicas' });
        expect(res.body.detail).toMatch(/MLMON_REMEDIATOR_SCALE_OWNER is external/);
      }
      expect(await replicaCount()).toBe(before);
      const restarts = (await processes()).find((p) => p.name === 'replica-1')!.restarts;
      expect((await hook(r.url, 'restart-replica', alert({ target: 'replica-1' }))).body).toMatchObject({ decision: 'executed', target: 'replica-1' });
      expect((await processes()).find((p) => p.name === 'replica-1')!.restarts).toBe(restarts + 1);
      const logged = events(r.logDir, 'mlmon.remediation').map((e) => [e.mlmon.remediation.action, e.mlmon.remediation.decision, e.mlmon.remediation.reason, e.log.level]);
      expect(logged).toEqual([
        ['scale_out', 'refused', 'scale_owner_external', 'warn'],
        ['scale_in', 'refused', 'scale_owner_external', 'warn'],
        ['restart', 'executed', undefined, 'info'],
      ]);
    } finally {
      await r.close();
    }
  }, 60_000);
});
