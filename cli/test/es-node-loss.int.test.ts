/**
 * Losing an Elasticsearch node under load, on a real three-node cluster that
 * `mlmon up --es-nodes 3` starts, with the whole stack pointed at all three
 * nodes. Two runs on the one cluster:
 *
 * 1. the elected master is killed (SIGKILL) with three master-eligible data
 *    nodes: the other two still make a quorum and elect a new master;
 * 2. the killed node comes back as a data-only node (it is excluded from the
 *    voting configuration first, as an operator repurposing a node does), and
 *    then that data-only node is killed: the masters are untouched.
 *
 * Each run: steady traffic with feedback for 60 s, the node killed a third of
 * the way in; then every prediction answered 200 is in Elasticsearch exactly
 * once, the shipper dead-lettered nothing, the analyzer and the rule runner
 * kept working after the loss, and no rule fired but cluster-health (and the
 * scale-in suggestion, which fires whenever traffic is low, loss or not).
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@elastic/elasticsearch';
import { familyPattern, type EventOf } from '@mlmon/contract';
import { localClusterStatus, readLocalCluster, startClusterNode, stopCluster } from '@mlmon/elasticsearch';
import { createEsClient, freePortBlock, waitUntil } from '@mlmon/runtime';
import { historyPattern } from '@mlmon/watcher-rules';
import { REPO_ROOT, runPaths } from '../src/stack/paths.js';
import { readStackFile, runningStack, type StackFile } from '../src/stack/stack-file.js';
import { loadHoldout } from '../src/simulate/holdout.js';
import { newTally, runTraffic, type TrafficTally } from '../src/simulate/traffic.js';
import { mlmon as runMlmon, upOnFreePorts } from './mlmon-process.js';

const TRAFFIC_S = 60;
const RATE = 20;
const RULES_INTERVAL_S = 5;
/** The cluster-health rule's yellow threshold here: long enough that allocating a new index's replica never reaches it, short enough to fire within the run. */
const YELLOW_FOR_S = 15;

const name = `nodeloss${randomBytes(3).toString('hex')}`;
const prefix = `t${randomBytes(4).toString('hex')}`;
const paths = runPaths(path.join(mkdtempSync(path.join(os.tmpdir(), 'mlmon-nodeloss-')), 'run'));
const rulesDir = mkdtempSync(path.join(os.tmpdir(), 'mlmon-nodeloss-rules-'));
// Without MLMON_ES_URL: `mlmon up` starts the cluster itself and hands every service its three nodes.
const { MLMON_ES_URL: _shared, ...parentEnv } = process.env;
const env: NodeJS.ProcessEnv = {
  ...parentEnv,
  MLMON_ES_LOCAL_NAME: name,
  MLMON_RUN_DIR: paths.runDir,
  MLMON_INDEX_PREFIX: prefix,
  MLMON_ANALYZER_INTERVAL: '2s',
  // One short window: its 2 s ticks keep up on two busy cores (an hour of 2 s slices does not), and it is all the test reads.
  MLMON_ANALYZER_WINDOWS: '1m',
  MLMON_RULES_INTERVAL: `${RULES_INTERVAL_S}s`,
  MLMON_RULES_DIR: rulesDir,
  MLMON_SHIPPER_STATUS_INTERVAL: '2s',
  // Alerts are what this test counts; nothing is to be scaled or rolled back meanwhile.
  MLMON_REMEDIATOR_DRY_RUN: 'true',
};
const rows = loadHoldout();
let stack: StackFile;
let es: Client;

const mlmon = (...args: string[]) => runMlmon(args, env);
const launcherEnv = <T>(f: () => Promise<T>): Promise<T> => {
  // The launcher reads which local cluster it is from the environment, as `mlmon` does.
  const saved = process.env.MLMON_ES_LOCAL_NAME;
  process.env.MLMON_ES_LOCAL_NAME = name;
  return f().finally(() => (saved === undefined ? delete process.env.MLMON_ES_LOCAL_NAME : (process.env.MLMON_ES_LOCAL_NAME = saved)));
};

/**
 * The shipped rules, with cluster-health's yellow threshold in seconds of this run, and its throttle
 * as short: the yellow of a start (replicas of new indices allocated under load) may fire it before
 * the loss, and a 15-minute throttle would then keep the loss's firing from being written.
 */
function tunedRules(): void {
  cpSync(path.join(REPO_ROOT, 'watcher-rules/watches'), rulesDir, { recursive: true });
  const file = path.join(rulesDir, 'cluster-health.json');
  const watch = JSON.parse(readFileSync(file, 'utf8')) as { metadata: Record<string, unknown>; actions: { log: { throttle_period: string } } };
  Object.assign(watch.metadata, { threshold: YELLOW_FOR_S, window: '10s' });
  watch.actions.log.throttle_period = '1s';
  writeFileSync(file, JSON.stringify(watch));
}

beforeAll(async () => {
  tunedRules();
  const port = await freePortBlock(21);
  env.MLMON_ES_PORT = String(port);
  const up = await upOnFreePorts({ replicas: 2, maxReplicas: 2, esNodes: 3 }, env);
  expect(up.out).toContain('local, 3 nodes');
  stack = readStackFile(paths)!;
  es = createEsClient({ MLMON_ES_URL: stack.esUrl, MLMON_ES_PORT: port }, { name: 'mlmon-test' });
}, 360_000);

afterAll(async () => {
  await es?.close();
  if (runningStack(paths)) await mlmon('down');
  // Whatever `down` left (a node restarted by the test after a failure).
  await launcherEnv(() => stopCluster(name, { log: () => {} }));
}, 120_000);

interface Loss {
  victim: string;
  killedAt: number;
  traffic: TrafficTally;
  indexed: number;
  duplicates: number;
  feedbackIndexed: number;
  deadLetters: number;
  /** The analyzer's 2-second ticks, by the end of their windows, from 10 s after the kill on. */
  metricTicksAfter: number;
  ruleTicksAfter: number;
  failedExecutionsAfter: number;
  fired: string[];
  /** cluster-health's firings after the kill (the rule ran every few seconds, its throttle tuned to one). */
  clusterHealthAfterLoss: number;
  /** The shipper's health samples after the loss: how many, the statuses seen, the longest not-green time. */
  health: { samples: number; statuses: string[]; maxNotGreenS: number };
  /** The analyzer's warnings after the loss (a pass that failed): what to read when its metrics stop. */
  analyzerWarnings: string[];
}

const greenCluster = () => es.cluster.health({ wait_for_status: 'green', timeout: '90s', wait_for_no_relocating_shards: true }, { requestTimeout: 100_000 });

/** Distinct values of a date field after a moment, in documents of a dataset. */
async function ticksAfter(index: string, field: string, after: number, filter: object[] = []): Promise<number> {
  const res = await es.search({
    index,
    size: 0,
    ignore_unavailable: true,
    query: { bool: { filter: [{ range: { [field]: { gt: new Date(after).toISOString() } } }, ...filter] } },
    aggs: { ticks: { cardinality: { field } } },
  });
  return (res.aggregations?.ticks as { value: number } | undefined)?.value ?? 0;
}

async function healthAfter(killedAt: number): Promise<Loss['health']> {
  const res = await es.search({
    index: familyPattern(prefix, 'resources'),
    size: 0,
    query: { bool: { filter: [{ exists: { field: 'mlmon.resource.cluster.status' } }, { range: { '@timestamp': { gt: new Date(killedAt).toISOString() } } }] } },
    aggs: { statuses: { terms: { field: 'mlmon.resource.cluster.status' } }, longest: { max: { field: 'mlmon.resource.cluster.not_green_seconds' } } },
  });
  const aggs = res.aggregations as { statuses: { buckets: Array<{ key: string }> }; longest: { value: number | null } };
  return { samples: (res.hits.total as { value: number }).value, statuses: aggs.statuses.buckets.map((b) => b.key), maxNotGreenS: aggs.longest.value ?? 0 };
}

/** Steady traffic with feedback; the victim's JVM killed with SIGKILL a third of the way in. */
async function loseNodeUnderLoad(victim: { name: string; pid: number }): Promise<Loss> {
  const since = Date.now();
  const live = newTally();
  const traffic = runTraffic({ url: stack.url, rows, rate: RATE, seconds: TRAFFIC_S, feedbackFraction: 0.3, feedbackDelayMs: 1000, label: `node loss (${victim.name})` }, live);
  await waitUntil(() => live.sent >= (RATE * TRAFFIC_S) / 3, { timeoutMs: 60_000, intervalMs: 100, what: 'a third of the traffic' });
  process.kill(victim.pid, 'SIGKILL');
  const killedAt = Date.now();
  const t = await traffic;

  const ids = t.requests.map((r) => r.predictionId);
  const predictions = familyPattern(prefix, 'predictions');
  const count = async () => (await es.count({ index: predictions, query: { ids: { values: ids } } })).count;
  // The shipper catches up at its own pace once a new master is elected; on busy cores that took minutes.
  await expect.poll(count, { timeout: 240_000, interval: 2000 }).toBeGreaterThanOrEqual(t.ok);
  // Exactly once: the same prediction id in two documents would be two buckets' worth of one id.
  const dup = await es.search({
    index: predictions,
    size: 0,
    query: { terms: { 'mlmon.prediction.id': ids } },
    aggs: { twice: { terms: { field: 'mlmon.prediction.id', min_doc_count: 2, size: 10 } } },
  });
  const feedbackIds = t.requests.filter((r) => r.trueLabel !== undefined).map((r) => r.predictionId);
  const feedback = () =>
    es
      .count({ index: familyPattern(prefix, 'feedback'), query: { bool: { filter: [{ term: { 'event.dataset': 'mlmon.feedback' } }, { terms: { 'mlmon.prediction.id': feedbackIds } }] } } })
      .then((r) => r.count);
  await expect.poll(feedback, { timeout: 120_000, interval: 2000 }).toBeGreaterThanOrEqual(t.feedbackOk);

  // The analyzer's metrics of windows that end after the loss: it may run behind on a loaded machine, so awaited.
  const after = killedAt + 10_000;
  const metricTicks = () => ticksAfter(familyPattern(prefix, 'metrics'), 'mlmon.window.end', after, [{ term: { 'event.dataset': 'mlmon.quality' } }]);
  await expect.poll(metricTicks, { timeout: 180_000, interval: 2000 }).toBeGreaterThanOrEqual(2);
  // Two rule intervals after the last line is indexed, for any alert the loss caused to be written.
  await new Promise((r) => setTimeout(r, 2 * RULES_INTERVAL_S * 1000));
  const alerts = await es.search<EventOf<'mlmon.alert'>>({
    index: familyPattern(prefix, 'events'),
    size: 500,
    ignore_unavailable: true,
    query: { bool: { filter: [{ term: { 'event.dataset': 'mlmon.alert' } }, { range: { '@timestamp': { gte: new Date(since).toISOString() } } }] } },
  });
  const deadLetterFile = path.join(paths.runDir, 'shipper', 'dead-letter.ndjson');
  const loss: Loss = {
    victim: victim.name,
    killedAt,
    traffic: t,
    indexed: await count(),
    duplicates: (dup.aggregations?.twice as { buckets: unknown[] }).buckets.length,
    feedbackIndexed: await feedback(),
    deadLetters: existsSync(deadLetterFile) ? readFileSync(deadLetterFile, 'utf8').split('\n').filter(Boolean).length : 0,
    metricTicksAfter: await metricTicks(),
    ruleTicksAfter: await ticksAfter(historyPattern(prefix), 'trigger_event.schedule.scheduled_time', after),
    failedExecutionsAfter: (
      await es.count({
        index: historyPattern(prefix),
        query: { bool: { filter: [{ term: { state: 'failed' } }, { range: { 'trigger_event.schedule.scheduled_time': { gt: new Date(after).toISOString() } } }] } },
      })
    ).count,
    fired: [...new Set(alerts.hits.hits.map((h) => h._source!.mlmon.alert.rule))].sort(),
    clusterHealthAfterLoss: alerts.hits.hits.filter((h) => h._source!.mlmon.alert.rule === 'cluster-health' && Date.parse(h._source!['@timestamp']) > killedAt).length,
    health: await healthAfter(killedAt),
    analyzerWarnings: readFileSync(path.join(paths.logs, 'analyzer.ndjson'), 'utf8')
      .split('\n')
      .filter((l) => l.includes('"log.level":"warn"') && Date.parse((JSON.parse(l) as { '@timestamp': string })['@timestamp']) > killedAt)
      .map((l) => (JSON.parse(l) as { message: string }).message)
      .slice(0, 5),
  };
  const { traffic: _t, ...figures } = loss;
  console.log(`node loss (${victim.name}): sent ${t.sent}, ok ${t.ok}, feedback ${t.feedbackOk}; ${JSON.stringify(figures)}`);
  return loss;
}

function expectNothingLost(loss: Loss): void {
  const t = loss.traffic;
  // Every request answered: the api does not need Elasticsearch to answer.
  expect(t.ok, JSON.stringify([...t.byStatus])).toBe(t.sent);
  expect(t.sent).toBe(RATE * TRAFFIC_S);
  expect(loss.indexed).toBe(t.ok);
  expect(loss.duplicates).toBe(0);
  expect(loss.feedbackIndexed).toBe(t.feedbackOk);
  expect(loss.deadLetters).toBe(0);
  // Ten seconds after the kill: what runs after the loss, not what was already under way. The rules
  // run every 5 s, and the figures are read 40 s or more after the kill.
  expect(loss.metricTicksAfter).toBeGreaterThanOrEqual(2);
  expect(loss.ruleTicksAfter).toBeGreaterThanOrEqual(3);
  expect(loss.failedExecutionsAfter).toBe(0);
  // The loss leaves the cluster yellow for longer than the tuned threshold: cluster-health says so; nothing else fires.
  expect(loss.clusterHealthAfterLoss).toBeGreaterThan(0);
  expect(loss.fired.filter((r) => r !== 'cluster-health' && r !== 'replica-underuse')).toEqual([]);
}

describe('a three-node cluster loses a node under load and nothing is lost', () => {
  it('`mlmon status` shows each node, its roles, the elected master and the health', async () => {
    await greenCluster();
    const run = await mlmon('status');
    expect(run.code, run.out).toBe(0);
    expect(run.out).toMatch(/local, 3 of 3 nodes running, health green/);
    for (let i = 1; i <= 3; i++) expect(run.out).toMatch(new RegExp(`${name}-${i} +http://127\\.0\\.0\\.1:\\d+ +pid \\d+ +dm`));
    expect(run.out.match(/elected master/g)).toHaveLength(1);
  });

  it('the elected master is killed: a new one is elected, and every prediction is indexed once', async () => {
    await greenCluster();
    const status = await launcherEnv(() => localClusterStatus());
    const master = status.nodes.find((n) => n.master)!;
    const loss = await loseNodeUnderLoad({ name: master.name, pid: master.pid! });
    expectNothingLost(loss);
    const now = await launcherEnv(() => localClusterStatus());
    expect(now.nodes.find((n) => n.master)?.name).not.toBe(master.name);
  }, 600_000);

  it('a data-only node is killed: every prediction is indexed once', async () => {
    // The node killed above comes back data-only, as an operator repurposes one: out of the voting configuration first.
    const status = await launcherEnv(() => localClusterStatus());
    const down = status.nodes.findIndex((n) => !n.running);
    const cluster = await launcherEnv(async () => readLocalCluster(name)!);
    await es.cluster.postVotingConfigExclusions({ node_names: cluster.nodes[down]!.instance, timeout: '60s' });
    // A start under the stack's load on two cores can take minutes: more than the launcher's default wait.
    await launcherEnv(() => startClusterNode(cluster, down, { roles: ['data'], heap: '512m', readyTimeoutMs: 300_000, log: () => {} }));
    await es.cluster.deleteVotingConfigExclusions({ wait_for_removal: false });
    await greenCluster();
    const dataOnly = (await launcherEnv(() => localClusterStatus())).nodes[down]!;
    expect(dataOnly.roles).toBe('d');
    const loss = await loseNodeUnderLoad({ name: dataOnly.name, pid: dataOnly.pid! });
    expectNothingLost(loss);
  }, 900_000);
});
