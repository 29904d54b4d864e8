/**
 * The closed loop on the real local stack: nginx, replicas, shipper,
 * analyzer, rule runner and remediator, started by `mlmon up`. Each scenario
 * drives traffic with `mlmon simulate` and ends with the alert → remediation →
 * outcome trail read back from Elasticsearch.
 *
 * Each test file of this folder calls `useLoopStack()` and so runs its
 * scenarios on a stack of its own (ports, run folder, index prefix): the files
 * run side by side, and no scenario's traffic is in another's rule windows.
 *
 * Time is compressed the way an operator would tune it, not by skipping
 * anything: the analyzer ticks every 2 s, the runner runs every rule every 5 s
 * (MLMON_RULES_INTERVAL), replicas sample resources every 2 s, and the runner reads a
 * copy of the rules whose scaling and heartbeat windows are seconds instead of
 * minutes (the watch files' metadata, the one place thresholds are tuned).
 * The remediator's cooldown and flap window are shortened to match.
 */
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { rulesIndex, type EventOf } from '@mlmon/contract';
import { testCluster } from '@mlmon/elasticsearch/testing';
import { waitUntil } from '@mlmon/runtime';
import { dryRunTick, loadWatches } from '@mlmon/watcher-rules';
import { stackStatus } from '../../src/stack/client.js';
import { REPO_ROOT, runPaths } from '../../src/stack/paths.js';
import { readStackFile, runningStack, type StackFile } from '../../src/stack/stack-file.js';
import { mlmon as runMlmon, upOnFreePorts } from '../mlmon-process.js';

export type Remediation = EventOf<'mlmon.remediation'>;
export type Alert = EventOf<'mlmon.alert'>;
type Resource = EventOf<'mlmon.resource'>;

export const RULES_INTERVAL_S = 5;
export const cluster = testCluster();
export const paths = runPaths(path.join(mkdtempSync(path.join(os.tmpdir(), 'mlmon-loop-')), 'run'));
const rulesDir = mkdtempSync(path.join(os.tmpdir(), 'mlmon-loop-rules-'));
const env = {
  ...process.env,
  MLMON_RUN_DIR: paths.runDir,
  MLMON_ES_URL: cluster.url,
  MLMON_INDEX_PREFIX: cluster.prefix,
  MLMON_ANALYZER_INTERVAL: '2s',
  MLMON_RULES_INTERVAL: `${RULES_INTERVAL_S}s`,
  MLMON_RULES_DIR: rulesDir,
  MLMON_API_RESOURCE_INTERVAL: '2s',
  // The shipper's status line: what seenByEveryRule reads the shipper's progress from.
  MLMON_SHIPPER_STATUS_INTERVAL: '2s',
  MLMON_REMEDIATOR_COOLDOWN: '5s',
  MLMON_REMEDIATOR_FLAP_WINDOW: '15s',
  MLMON_REMEDIATOR_SCALE_IN_STABILIZATION: '15s',
  MLMON_REMEDIATOR_MAX_ACTIONS_PER_HOUR: '100',
  MLMON_REMEDIATOR_MIN_REPLICAS: '2',
  MLMON_REMEDIATOR_MAX_REPLICAS: '3',
};
let current: StackFile | undefined;

/** The stack of this test file, once `useLoopStack`'s beforeAll has brought it up. */
export function stack(): StackFile {
  if (!current) throw new Error('no loop stack: call useLoopStack() in the test file');
  return current;
}

/** The shipped rules with the operational windows in seconds: what `MLMON_RULES_DIR` points at. */
function tunedRules(): void {
  cpSync(path.join(REPO_ROOT, 'watcher-rules/watches'), rulesDir, { recursive: true });
  const tune: Record<string, Record<string, unknown>> = {
    // 20/s per replica over 20 s: a spike of 2 replicas at 100/s crosses it, 20/s does not.
    'replica-overload': { window: '20s', threshold: 400 },
    // Busiest replica under 4/s over 20 s.
    'replica-underuse': { window: '20s', threshold: 80 },
    // Samples every 2 s: 15 s without one is a hung replica.
    'replica-heartbeat-missing': { window: '15s', lookback: '2m' },
  };
  for (const [id, metadata] of Object.entries(tune)) {
    const file = path.join(rulesDir, `${id}.json`);
    const watch = JSON.parse(readFileSync(file, 'utf8')) as { metadata: Record<string, unknown>; actions: Record<string, { throttle_period?: string }> };
    Object.assign(watch.metadata, metadata);
    // Minutes between two scalings would outlast the test; the remediator's own limits still apply.
    for (const action of Object.values(watch.actions)) if (action.throttle_period) action.throttle_period = '10s';
    writeFileSync(file, JSON.stringify(watch));
  }
}

export const mlmon = async (...args: string[]) => { const t0 = Date.now(); const r = await runMlmon(args, env); console.log(`TIMING mlmon ${args.slice(0,2).join(' ')} ${Date.now() - t0} ms`); return r; };

/** Brings this file's stack up before its tests (2 replicas, room for 4) and down after them. */
export function useLoopStack(): void {
  beforeAll(async () => {
    tunedRules();
    const t0 = Date.now();
    await upOnFreePorts({ replicas: 2, maxReplicas: 4 }, env);
    console.log(`TIMING up ${Date.now() - t0} ms`);
    current = readStackFile(paths)!;
  }, 180_000);

  // A scenario that failed before it stopped its watcher.
  afterEach(async () => {
    await Promise.all([...watching].map((c) => c.stop()));
  });

  afterAll(async () => {
    if (runningStack(paths)) await mlmon('down');
    await cluster.cleanup();
  }, 90_000);
}

export async function search<T>(dataset: string, since: Date, filter: object[] = [], family = 'events'): Promise<T[]> {
  const res = await cluster.client.search<T>({
    index: `${cluster.prefix}-${family}-*`,
    size: 500,
    sort: [{ '@timestamp': 'asc' }],
    query: { bool: { filter: [{ term: { 'event.dataset': dataset } }, { range: { '@timestamp': { gte: since.toISOString() } } }, ...filter] } },
  }, { ignore: [404] });
  return (res.hits?.hits ?? []).map((h) => h._source!);
}
export const decisions = (since: Date, action: string) => search<Remediation>('mlmon.remediation', since, [{ term: { 'mlmon.remediation.action': action } }]);
export const executed = async (since: Date, action: string) => (await decisions(since, action)).filter((d) => d.mlmon.remediation.decision === 'executed');
export const alertsSince = (since: Date) => search<Alert>('mlmon.alert', since);
/** The alert and every decision about one execution: the audit trail is one search. */
const trail = (executionId: string) =>
  cluster.client
    .search<Alert | Remediation>({
      index: `${cluster.prefix}-events-*`,
      size: 50,
      query: { bool: { should: [{ term: { 'mlmon.alert.id': executionId } }, { term: { 'mlmon.remediation.execution_id': executionId } }], minimum_should_match: 1 } },
    })
    .then((r) => r.hits.hits.map((h) => h._source!));

export async function models(): Promise<{ active: string; canary: { version: string; weight: number } | null }> {
  return (await fetch(`${stack().url}/v1/models`)).json() as Promise<{ active: string; canary: { version: string; weight: number } | null }>;
}
export const replica = async (name: string) => (await stackStatus(stack())).processes.find((p) => p.name === name);
export const replicaCount = async () => (await stackStatus(stack())).processes.filter((p) => p.name.startsWith('replica-')).length;

/**
 * Waits for one executed remediation, checks its trail holds the alert that
 * asked for it and, given the conditions watched meanwhile, that this rule
 * fired promptly.
 */
export async function expectLoop(since: Date, action: string, timeoutMs: number, conditions?: Conditions): Promise<Remediation> {
  await expect.poll(async () => (await executed(since, action)).length, { timeout: timeoutMs, interval: 2000 }).toBeGreaterThan(0);
  const done = (await executed(since, action))[0]!;
  const rule = await ruleOf(done);
  if (conditions) await expectPromptAlert(since, rule, conditions);
  return done;
}

/** The rule whose alert asked for a remediation: the alert is in the execution's trail. */
export async function ruleOf(decision: Remediation): Promise<string> {
  const executionId = decision.mlmon.remediation.execution_id!;
  const alertOf = async () => (await trail(executionId)).find((e): e is Alert => e.event.dataset === 'mlmon.alert');
  // The runner's alert line and the remediator's decision are shipped from two files: either may be indexed first.
  await expect.poll(async () => (await alertOf())?.mlmon.alert.id, { timeout: 30_000, interval: 1000, message: `the alert of ${executionId} in its trail` }).toBe(executionId);
  return (await alertOf())!.mlmon.alert.rule;
}

export interface Conditions {
  /** When the rule's condition first held on the data as indexed at that moment. */
  metAt(rule: string): number | undefined;
  stop(): Promise<void>;
}
const watching = new Set<Conditions>();

/**
 * Issue 10 asks that a scenario fire its rule "within two schedule intervals
 * after the data is indexed". This finds that moment as it happens: once a
 * second, each rule that asks for a remediation is run dry (`rules test`) on
 * the data as it is indexed by then. The scale-in suggestion is left out: it
 * holds whenever traffic is low.
 */
export function watchConditions(): Conditions {
  const deployment = { MLMON_INDEX_PREFIX: cluster.prefix, MLMON_REMEDIATOR_URL: 'http://127.0.0.1:9', MLMON_REMEDIATOR_TOKEN: '' };
  const watches = loadWatches({ dir: rulesDir, deployment }).filter((w) => w.body.metadata.remediation && w.body.metadata.remediation !== 'scale_in');
  const met = new Map<string, number>();
  let stopped = false;
  const polling = (async () => {
    while (!stopped) {
      const at = Date.now();
      await Promise.all(
        watches.filter((w) => !met.has(w.id)).map(async (w) => {
          // A failed search is only a second without an answer; the next poll asks again.
          if ((await dryRunTick(cluster.client, w, at).catch(() => undefined))?.would_fire) met.set(w.id, at);
        }),
      );
      // The poll's pace (once a second, the resolution of `metAt`), not a wait for something.
      await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (Date.now() - at))));
    }
  })();
  const conditions: Conditions = {
    metAt: (rule) => met.get(rule),
    stop: async () => {
      stopped = true;
      watching.delete(conditions);
      await polling;
    },
  };
  watching.add(conditions);
  return conditions;
}

/** The rule's first alert since the scenario began came within two rule intervals of its condition holding. */
export async function expectPromptAlert(since: Date, rule: string, conditions: Conditions): Promise<void> {
  // The remediation can be indexed before the alert that caused it (two log files, one shipper): wait for the alert.
  const firstOf = async () => (await alertsSince(since)).find((a) => a.mlmon.alert.rule === rule);
  await expect.poll(async () => (await firstOf())?.mlmon.alert.rule, { message: `an alert of ${rule} since ${since.toISOString()}`, timeout: 30_000, interval: 1000 }).toBe(rule);
  const first = await firstOf();
  const fired = Date.parse(first!.mlmon.alert.scheduled_time!);
  const met = conditions.metAt(rule);
  expect(met, `${rule} fired, and its condition held on the indexed data too`).toBeTypeOf('number');
  const lateS = (fired - met!) / 1000;
  console.log(`${rule}: condition held at ${new Date(met!).toISOString()}, fired at the tick of ${first!.mlmon.alert.scheduled_time} (${lateS} s)`);
  expect(lateS, `${rule}: fired ${lateS} s after its condition held`).toBeLessThanOrEqual(2 * RULES_INTERVAL_S);
}

/**
 * Everything the stack wrote before `at` is indexed: a status line of the
 * shipper, written after `at` and indexed, says nothing older than `at` is left
 * to ship. Returns when that status line was written.
 */
async function shippedSince(at: number): Promise<number> {
  return waitUntil(
    async () => {
      const lines = await search<Resource>('mlmon.resource', new Date(at), [{ term: { 'service.name': 'mlmon-log-shipper' } }], 'resources');
      // The shipper is not the only one writing, so its lag is rarely zero: the oldest line it has not shipped is what counts.
      const caughtUp = lines.find((l) => {
        const lag = l.mlmon.resource.shipper!;
        return lag.lag_bytes === 0 || Date.parse(l['@timestamp']) - lag.lag_seconds * 1000 > at;
      });
      return caughtUp && Date.parse(caughtUp['@timestamp']);
    },
    { timeoutMs: 60_000, intervalMs: 500, what: `the shipper caught up with ${new Date(at).toISOString()}` },
  );
}

/**
 * What stands for "wait two rule intervals": everything written so far is
 * indexed, the analyzer has computed its windows on it, every rule has run on
 * that, and the alerts of those runs are indexed in turn. After this, an alert
 * the data calls for is searchable, however loaded the host is.
 */
export async function seenByEveryRule(): Promise<void> {
  const t0 = Date.now();
  const shipped = await shippedSince(Date.now());
  console.log(`TIMING shipped after ${Date.now() - t0} ms`);
  // One index refresh later, the analyzer's next tick reads all of it.
  const analyzed = await waitUntil(
    async () => {
      const res = await cluster.client.search<{ '@timestamp': string }>({
        index: `${cluster.prefix}-metrics-*`,
        size: 1,
        sort: [{ '@timestamp': 'desc' }],
        query: { range: { '@timestamp': { gt: new Date(shipped + 1000).toISOString() } } },
      });
      const hit = res.hits.hits[0]?._source;
      return hit && Date.parse(hit['@timestamp']);
    },
    { timeoutMs: 60_000, intervalMs: 500, what: 'an analyzer tick on the indexed data' },
  );
  console.log(`TIMING analyzed after ${Date.now() - t0} ms`);
  const ids = loadWatches({ dir: rulesDir, deployment: { MLMON_INDEX_PREFIX: cluster.prefix, MLMON_REMEDIATOR_URL: '', MLMON_REMEDIATOR_TOKEN: '' } }).map((w) => w.id);
  type State = { status?: { last_checked?: string } };
  await waitUntil(
    async () => {
      // Real-time gets: the runner's status documents, each saved after its execution's alert was written.
      const res = await cluster.client.mget<State>({ index: rulesIndex(cluster.prefix, 'state'), ids });
      return res.docs.every((d) => 'found' in d && d.found && Date.parse(d._source?.status?.last_checked ?? '') > analyzed + 1000);
    },
    { timeoutMs: 60_000, intervalMs: 500, what: 'every rule run on the analyzed data' },
  );
  console.log(`TIMING rules ran after ${Date.now() - t0} ms`);
  await shippedSince(Date.now());
  console.log(`TIMING settled after ${Date.now() - t0} ms`);
}

/** The host CPU the replicas sampled since a time, and their event-loop delays, to tell host contention from a replica's own. */
export async function hostCpu(since: Date): Promise<{ median: number; loopDelayMs: Record<string, number> }> {
  const res = await cluster.client.search({
    index: `${cluster.prefix}-resources-*`,
    size: 0,
    query: { bool: { filter: [{ term: { 'service.name': 'mlmon-api' } }, { range: { '@timestamp': { gte: since.toISOString() } } }] } },
    aggs: {
      host: { percentiles: { field: 'mlmon.resource.host.cpu_pct', percents: [50] } },
      replicas: { terms: { field: 'service.node.name' }, aggs: { delay: { percentiles: { field: 'mlmon.resource.process.event_loop_delay_p99_ms', percents: [50] } } } },
    },
  });
  type Pct = { values: Record<string, number | null> };
  const aggs = res.aggregations as { host: Pct; replicas: { buckets: { key: string; delay: Pct }[] } };
  const median = (p: Pct) => Object.values(p.values)[0] ?? 0;
  return { median: median(aggs.host), loopDelayMs: Object.fromEntries(aggs.replicas.buckets.map((b) => [b.key, median(b.delay)])) };
}
