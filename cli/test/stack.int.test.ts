import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOG_BASENAMES, logFile, parseEcsLine, type EventOf, type MlmonEvent } from '@mlmon/contract';
import { testCluster } from '@mlmon/elasticsearch/testing';
import { scaleReplicas, stackStatus } from '../src/stack/client.js';
import { runPaths } from '../src/stack/paths.js';
import { isAlive, readStackFile, runningStack, type StackFile } from '../src/stack/stack-file.js';
import { loadHoldout } from '../src/simulate/holdout.js';
import { newTally, runTraffic, type TrafficTally } from '../src/simulate/traffic.js';
import { mlmon as runMlmon, upOnFreePorts } from './mlmon-process.js';

/** A real stack (real nginx, real replicas, a supervisor) on ports of its own, in a run folder of its own. */
const cluster = testCluster();
// A run folder that does not exist yet, as in a fresh clone.
const paths = runPaths(path.join(mkdtempSync(path.join(os.tmpdir(), 'mlmon-stack-')), 'run'));
// The analyzer ticks every 2 s here, so a test need not wait out the default 15 s.
const MLMON_API_PSEUDONYM_KEY = `pseudonym-key-${randomBytes(16).toString('hex')}`;
// The remediator only records what it would do: the rules would otherwise scale this stack in (it is
// well below capacity) while a test scales it. cli/test/loop/ is where remediation acts.
const env = { ...process.env, MLMON_RUN_DIR: paths.runDir, MLMON_ES_URL: cluster.url, MLMON_INDEX_PREFIX: cluster.prefix, MLMON_ANALYZER_INTERVAL: '2s', MLMON_API_PSEUDONYM_KEY, MLMON_REMEDIATOR_DRY_RUN: 'true' };
let stack: StackFile;
let replicaPort: number;
const rows = loadHoldout();

const mlmon = (args: string[], runEnv: NodeJS.ProcessEnv = env) => runMlmon(args, runEnv);

const errorsOf = (t: TrafficTally) => t.sent - t.ok;

function events<D extends MlmonEvent['event']['dataset']>(basename: string, dataset: D): Array<EventOf<D>> {
  return readFileSync(logFile(paths.logs, basename), 'utf8')
    .trim()
    .split('\n')
    .map((l) => parseEcsLine(l))
    .filter((e): e is EventOf<D> => e.event.dataset === dataset);
}

const up = (replicas: number, runEnv: NodeJS.ProcessEnv) => upOnFreePorts({ replicas, maxReplicas: 8 }, runEnv);

beforeAll(async () => {
  ({ replicaPort } = await up(3, env));
  stack = readStackFile(paths)!;
}, 120_000);

afterAll(async () => {
  if (runningStack(paths)) await mlmon(['down']);
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
    const access = events(LOG_BASENAMES.nginxAccess, 'nginx.access');
    expect(t.requests.length).toBe(50);
    for (const r of t.requests) {
      expect(r.requestId).toMatch(/^[0-9a-f]{32}$/);
      const line = access.find((e) => e.http.request.id === r.requestId);
      expect(line?.http.response.status_code).toBe(200);
      // The last upstream attempt is the replica that answered (earlier ones may be empty slots).
      expect(line?.mlmon.nginx.upstream.address.split(', ').at(-1)).toBe(`127.0.0.1:${stackPort(r.replica)}`);
      const prediction = events(LOG_BASENAMES.replica(r.replica), 'mlmon.prediction').find((e) => e.http.request.id === r.requestId);
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

  it('`mlmon trace <request id>` of a live request prints its nginx line and its prediction line', async () => {
    const t = await runTraffic({ url: stack.url, rows, rate: 20, seconds: 1 });
    const { requestId, predictionId, replica } = t.requests.at(-1)!;
    // nginx's line and the prediction line come from two files, shipped independently.
    const shipped = () => cluster.client.count({ index: `${cluster.prefix}-*`, query: { term: { 'http.request.id': requestId } } }).then((r) => r.count);
    await expect.poll(shipped, { timeout: 30_000, interval: 500 }).toBe(2);
    const run = await mlmon(['trace', requestId]);
    expect(run.code, run.out).toBe(0);
    expect(run.out).toMatch(new RegExp(`nginx\\.access .*POST /v1/predict 200 .*request ${requestId}`));
    expect(run.out).toContain(`attempt 1: 127.0.0.1:`);
    expect(run.out).toMatch(new RegExp(`mlmon\\.prediction +${replica} +prediction ${predictionId}`));
  });

  it('loses at most 0.1% of requests when a replica is killed -9 under load, and restarts it', async () => {
    const victim = (await stackStatus(stack)).processes.find((p) => p.name === 'replica-2')!;
    const live = newTally();
    const traffic = runTraffic({ url: stack.url, rows, rate: 200, seconds: 6 }, live);
    await expect.poll(() => live.sent, { timeout: 10_000 }).toBeGreaterThanOrEqual(400);
    process.kill(victim.pid!, 'SIGKILL');
    const t = await traffic;
    expect(t.sent).toBe(1200);
    expect(errorsOf(t)).toBeLessThanOrEqual(1);
    await expect.poll(async () => (await stackStatus(stack)).processes.find((p) => p.name === 'replica-2'), { timeout: 15_000 }).toMatchObject({ state: 'running', restarts: victim.restarts + 1 });
  });

  it('adds and then removes a replica under load without failing a request', async () => {
    const live = newTally();
    // Long enough that replica-4 serves before the traffic ends even on a loaded machine (CI runs
    // another stack beside this one): ready, then nginx's 3 s rest of the slot.
    const traffic = runTraffic({ url: stack.url, rows, rate: 200, seconds: 20 }, live);
    await expect.poll(() => live.sent, { timeout: 10_000 }).toBeGreaterThanOrEqual(200);
    expect((await scaleReplicas(stack, 4)).processes.map((p) => p.name)).toContain('replica-4');
    await expect.poll(() => live.byReplica.get('replica-4') ?? 0, { timeout: 15_000 }).toBeGreaterThan(0);
    expect((await scaleReplicas(stack, 3)).processes.map((p) => p.name)).not.toContain('replica-4');
    const t = await traffic;
    expect(t.sent).toBe(4000);
    expect(errorsOf(t)).toBe(0);
    expect(t.byReplica.get('replica-4')).toBeGreaterThan(0);
  });

  it('an intentional scale-in is no missing heartbeat: the supervisor ships its desired set and replica-heartbeat-missing leaves the removed replica out', async () => {
    type Line = { '@timestamp': string; service: { node: { name: string } }; mlmon: { resource: { replicas?: { desired: string[] } } } };
    const latestSet = async () => {
      await cluster.client.indices.refresh({ index: `${cluster.prefix}-resources-*` });
      const r = await cluster.client.search<Line>({
        index: `${cluster.prefix}-resources-*`,
        size: 1,
        sort: [{ '@timestamp': 'desc' }],
        query: { bool: { filter: [{ term: { 'service.name': 'mlmon-supervisor' } }, { exists: { field: 'mlmon.resource.replicas.count' } }] } },
      });
      return r.hits.hits[0]?._source?.mlmon.resource.replicas?.desired;
    };
    const lastOf4 = async () => {
      await cluster.client.indices.refresh({ index: `${cluster.prefix}-resources-*` });
      const r = await cluster.client.search<Line>({ index: `${cluster.prefix}-resources-*`, size: 1, sort: [{ '@timestamp': 'desc' }], query: { term: { 'service.node.name': 'replica-4' } } });
      const at = r.hits.hits[0]?._source?.['@timestamp'];
      return at === undefined ? undefined : Date.parse(at);
    };
    // replica-4 must have reported (it samples every 10 s), so that the rule sees it in its lookback as it did in the issue.
    expect((await scaleReplicas(stack, 4)).processes.map((p) => p.name)).toContain('replica-4');
    const since = Date.now();
    await expect.poll(async () => ((await lastOf4()) ?? 0) > since, { timeout: 60_000, interval: 2000 }).toBe(true);
    expect((await scaleReplicas(stack, 3)).processes.map((p) => p.name)).not.toContain('replica-4');
    await expect.poll(latestSet, { timeout: 30_000 }).toEqual(['replica-1', 'replica-2', 'replica-3']);
    // Wait until replica-4 has been silent for the rule's whole window (1 minute): the old rule fired here.
    const silentSince = (await lastOf4())!;
    await expect.poll(() => Date.now() - silentSince, { timeout: 120_000, interval: 2000 }).toBeGreaterThan(65_000);
    const to = new Date(Date.now() - 2000).toISOString();
    const { code, out } = await mlmon(['rules', 'test', 'replica-heartbeat-missing', '--from', new Date(Date.parse(to) - 30_000).toISOString(), '--to', to, '--json']);
    expect(code, out).toBe(0);
    const ticks = out.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { met: boolean; target?: string; state: string });
    expect(ticks.length).toBeGreaterThan(0);
    expect(ticks.map((t) => [t.state, t.met])).toEqual(ticks.map(() => ['execution_not_needed', false]));
  }, 180_000);

  it('`mlmon simulate steady` ends with no errors', async () => {
    const run = await mlmon(['simulate', 'steady', '--rate', '50', '--duration', '3']);
    expect(run.code, run.out).toBe(0);
    expect(run.out).toMatch(/sent 150, ok 150, errors none/);
  });

  it('`mlmon analyze` gives, for the traffic just sent, the metrics of its answers and of the labels sent', async () => {
    const from = new Date();
    const t = await runTraffic({ url: stack.url, rows, rate: 150, seconds: 2, feedbackFraction: 0.5, feedbackDelayMs: 200 });
    expect(t.ok).toBe(300);
    const to = new Date(Date.now() + 1000);
    const labeled = t.requests.filter((r) => r.trueLabel !== undefined);
    type Quality = { count: number; labeled: number; accuracy: number; f1: number; roc_auc: number; log_loss: number };
    const analyze = async () => {
      const run = await mlmon(['analyze', '--from', from.toISOString(), '--to', to.toISOString(), '--json']);
      expect(run.code, run.out).toBe(0);
      return (JSON.parse(run.out.slice(run.out.indexOf('{'))) as { versions: Array<{ quality: Quality }> }).versions[0]!.quality;
    };
    // The analyzer joins feedback to predictions as it arrives: wait until every label is in.
    await expect.poll(async () => (await analyze()).labeled, { timeout: 60_000, interval: 2000 }).toBe(labeled.length);
    const q = await analyze();
    expect(q.count).toBe(300);

    // Recomputed here from what the client saw: its answers and the labels it sent.
    // (The analyzer's agreement with scikit-learn itself is the fixture tests' job.)
    const positive = (label: string) => label === 'malignant';
    const tp = labeled.filter((r) => positive(r.label) && positive(r.trueLabel!)).length;
    const fp = labeled.filter((r) => positive(r.label) && !positive(r.trueLabel!)).length;
    const fn = labeled.filter((r) => !positive(r.label) && positive(r.trueLabel!)).length;
    const accuracy = labeled.filter((r) => r.label === r.trueLabel).length / labeled.length;
    const eps = 2.220446049250313e-16;
    const clip = (p: number) => Math.min(1 - eps, Math.max(eps, p));
    const logLoss = -labeled.reduce((s, r) => s + (positive(r.trueLabel!) ? Math.log(clip(r.score)) : Math.log(1 - clip(r.score))), 0) / labeled.length;
    const pos = labeled.filter((r) => positive(r.trueLabel!)).map((r) => r.score);
    const neg = labeled.filter((r) => !positive(r.trueLabel!)).map((r) => r.score);
    const auc = pos.reduce((s, p) => s + neg.reduce((t, n) => t + (p > n ? 1 : p === n ? 0.5 : 0), 0), 0) / (pos.length * neg.length);
    expect(q.accuracy).toBeCloseTo(accuracy, 9);
    expect(q.f1).toBeCloseTo((2 * tp) / (2 * tp + fp + fn), 9);
    // The api answers float64 of onnxruntime's float32 score; the analyzer aggregates the indexed double.
    expect(q.log_loss).toBeCloseTo(logLoss, 6);
    expect(q.roc_auc).toBeCloseTo(auc, 3);
  }, 120_000);

  it('`mlmon analyze` ranks the features `simulate drift` shifted above every other, each with PSI over 0.2', async () => {
    const from = new Date();
    const run = await mlmon(['simulate', 'drift', '--rate', '100', '--duration', '4']);
    expect(run.code, run.out).toBe(0);
    const to = new Date(Date.now() + 1000);
    const shifted = ['mean_radius', 'mean_perimeter', 'mean_area', 'worst_radius'];
    const analyze = async () => {
      const out = await mlmon(['analyze', '--from', from.toISOString(), '--to', to.toISOString(), '--json']);
      const report = JSON.parse(out.out.slice(out.out.indexOf('{'))) as { versions: Array<{ drift: { features: Array<{ feature: string; psi: number; count: number }> } }> };
      return report.versions[0]!.drift.features.filter((f) => f.feature !== 'score');
    };
    await expect.poll(async () => (await analyze())[0]?.count, { timeout: 30_000, interval: 2000 }).toBe(400);
    const ranked = (await analyze()).sort((a, b) => b.psi - a.psi);
    expect(ranked.slice(0, shifted.length).map((f) => f.feature).sort()).toEqual([...shifted].sort());
    for (const f of ranked.slice(0, shifted.length)) expect(f.psi, f.feature).toBeGreaterThan(0.2);
  }, 120_000);

  it('keeps a patient id out of every log line and every document, while its pseudonym links the patient’s requests', async () => {
    const marker = `patient-${randomBytes(6).toString('hex')}`;
    const predict = async () => {
      const res = await fetch(`${stack.url}/v1/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ features: rows[0]!.features, context: { patient_id: marker } }),
      });
      expect(res.status).toBe(200);
      return ((await res.json()) as { prediction_id: string }).prediction_id;
    };
    const ids = [await predict(), await predict()];
    const { client, prefix } = cluster;
    const docs = async () => {
      await client.indices.refresh({ index: `${prefix}-*` });
      return (await client.search<EventOf<'mlmon.prediction'>>({ index: `${prefix}-predictions-*`, query: { ids: { values: ids } } })).hits.hits;
    };
    await expect.poll(async () => (await docs()).length, { timeout: 30_000 }).toBe(2);
    const pseudonyms = new Set((await docs()).map((h) => h._source!.mlmon.prediction.context?.patient_id));
    expect(pseudonyms.size).toBe(1);
    expect([...pseudonyms][0]).toMatch(/^hmac-sha256:[0-9a-f]{32}$/);
    // Positive control: the pseudonym is searchable, so the search for the marker below can find what is there.
    const hits = async (query: string) => (await client.search({ index: `${prefix}-*`, query: { query_string: { query: `"${query}"` } } })).hits.hits.length;
    expect(await hits([...pseudonyms][0]!)).toBe(2);
    expect(await hits(marker)).toBe(0);
    for (const file of readdirSync(paths.logs)) expect(readFileSync(path.join(paths.logs, file), 'utf8'), file).not.toContain(marker);
  });

  it('`mlmon down` leaves no process behind', async () => {
    // A stack of its own, so that this test does not depend on running last.
    const own = runPaths(path.join(mkdtempSync(path.join(os.tmpdir(), 'mlmon-stack-down-')), 'run'));
    const ownEnv = { ...env, MLMON_RUN_DIR: own.runDir };
    const { port } = await up(1, ownEnv);
    const stack = readStackFile(own)!;
    // Alertmanager is one of the supervised processes, ready on its port (the rule runner posts there).
    const status = await mlmon(['status'], ownEnv);
    expect(status.out).toMatch(new RegExp(`alertmanager +http://127\\.0\\.0\\.1:${port + 3} +pid \\d+ +running +ready`));
    const { processes } = await stackStatus(stack);
    const nginxMaster = processes.find((p) => p.name === 'nginx')!.pid!;
    const workers = execFileSync('ps', ['-o', 'pid=', '--ppid', String(nginxMaster)], { encoding: 'utf8' }).trim().split(/\s+/).map(Number);
    const pids = [stack.supervisorPid, nginxMaster, ...workers, ...processes.map((p) => p.pid!)];
    expect(processes.map((p) => p.name)).toEqual(expect.arrayContaining(['log-shipper', 'alertmanager']));
    // supervisor, nginx master and worker, shipper, Alertmanager, one replica
    expect(new Set(pids).size).toBeGreaterThanOrEqual(6);
    const down = await mlmon(['down'], ownEnv);
    expect(down.code, down.out).toBe(0);
    await expect.poll(() => pids.filter(isAlive), { timeout: 10_000 }).toEqual([]);
    expect(readStackFile(own)).toBeUndefined();
  }, 120_000);
});

function stackPort(replica: string): number {
  return replicaPort + Number(replica.replace('replica-', '')) - 1;
}
