/**
 * The closed loop on the real local stack: nginx, replicas, shipper,
 * analyzer, rule runner and remediator, started by `mlmon up`. Each scenario
 * drives traffic with `mlmon simulate` and ends with the alert → remediation →
 * outcome trail read back from Elasticsearch.
 *
 * Time is compressed the way an operator would tune it, not by skipping
 * anything: the analyzer ticks every 2 s, the runner runs every rule every 5 s
 * (MLMON_RULES_INTERVAL), replicas sample resources every 2 s, and the runner reads a
 * copy of the rules whose scaling and heartbeat windows are seconds instead of
 * minutes (the watch files' metadata, the one place thresholds are tuned).
 * The remediator's cooldown and flap window are shortened to match.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { EventOf } from '@mlmon/contract';
import { testCluster } from '@mlmon/elasticsearch/testing';
import { chromium } from 'playwright-core';
import { DASHBOARDS } from '@mlmon/kibana';
import { dryRunTick, loadWatches } from '@mlmon/watcher-rules';
import { loadConfig } from '@mlmon/runtime';
import { testConfigShape } from '@mlmon/runtime/testing';
import { startDashboard } from '../src/dashboard/server.js';
import { stackStatus } from '../src/stack/client.js';
import { REPO_ROOT, runPaths } from '../src/stack/paths.js';
import { readStackFile, runningStack, type StackFile } from '../src/stack/stack-file.js';
import { mlmon as runMlmon, upOnFreePorts } from './mlmon-process.js';

type Remediation = EventOf<'mlmon.remediation'>;
type Alert = EventOf<'mlmon.alert'>;

const RULES_INTERVAL_S = 5;
// Five minutes, as issue 10 states it, with MLMON_TEST_LOOP_STEADY=5m; CI runs a shorter steady phase to stay in its time budget.
const STEADY_S = loadConfig({ MLMON_TEST_LOOP_STEADY: testConfigShape.MLMON_TEST_LOOP_STEADY }).MLMON_TEST_LOOP_STEADY / 1000;
const cluster = testCluster();
const paths = runPaths(path.join(mkdtempSync(path.join(os.tmpdir(), 'mlmon-loop-')), 'run'));
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
  MLMON_REMEDIATOR_COOLDOWN: '5s',
  MLMON_REMEDIATOR_FLAP_WINDOW: '15s',
  MLMON_REMEDIATOR_MAX_ACTIONS_PER_HOUR: '100',
  MLMON_REMEDIATOR_MIN_REPLICAS: '2',
  MLMON_REMEDIATOR_MAX_REPLICAS: '3',
};
let stack: StackFile;

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

const mlmon = (...args: string[]) => runMlmon(args, env);

async function search<T>(dataset: string, since: Date, filter: object[] = []): Promise<T[]> {
  const res = await cluster.client.search<T>({
    index: `${cluster.prefix}-events-*`,
    size: 500,
    sort: [{ '@timestamp': 'asc' }],
    query: { bool: { filter: [{ term: { 'event.dataset': dataset } }, { range: { '@timestamp': { gte: since.toISOString() } } }, ...filter] } },
  }, { ignore: [404] });
  return (res.hits?.hits ?? []).map((h) => h._source!);
}
const decisions = (since: Date, action: string) => search<Remediation>('mlmon.remediation', since, [{ term: { 'mlmon.remediation.action': action } }]);
const executed = async (since: Date, action: string) => (await decisions(since, action)).filter((d) => d.mlmon.remediation.decision === 'executed');
const alertsSince = (since: Date) => search<Alert>('mlmon.alert', since);
/** The alert and every decision about one execution: the audit trail is one search. */
const trail = (executionId: string) =>
  cluster.client
    .search<Alert | Remediation>({
      index: `${cluster.prefix}-events-*`,
      size: 50,
      query: { bool: { should: [{ term: { 'mlmon.alert.id': executionId } }, { term: { 'mlmon.remediation.execution_id': executionId } }], minimum_should_match: 1 } },
    })
    .then((r) => r.hits.hits.map((h) => h._source!));

async function models(): Promise<{ active: string; canary: { version: string; weight: number } | null }> {
  return (await fetch(`${stack.url}/v1/models`)).json() as Promise<{ active: string; canary: { version: string; weight: number } | null }>;
}
const replicaCount = async () => (await stackStatus(stack)).processes.filter((p) => p.name.startsWith('replica-')).length;

/**
 * Waits for one executed remediation, checks its trail holds the alert that
 * asked for it and, given the conditions watched meanwhile, that this rule
 * fired promptly.
 */
async function expectLoop(since: Date, action: string, timeoutMs: number, conditions?: Conditions): Promise<Remediation> {
  await expect.poll(async () => (await executed(since, action)).length, { timeout: timeoutMs, interval: 2000 }).toBeGreaterThan(0);
  const done = (await executed(since, action))[0]!;
  const rule = await ruleOf(done);
  if (conditions) await expectPromptAlert(since, rule, conditions);
  return done;
}

/** The rule whose alert asked for a remediation: the alert is in the execution's trail. */
async function ruleOf(decision: Remediation): Promise<string> {
  const executionId = decision.mlmon.remediation.execution_id!;
  const alert = (await trail(executionId)).find((e): e is Alert => e.event.dataset === 'mlmon.alert');
  expect(alert, `the alert of ${executionId} in its trail`).toBeDefined();
  return alert!.mlmon.alert.rule;
}

interface Conditions {
  /** When the rule's condition first held on the data as indexed at that moment. */
  metAt(rule: string): number | undefined;
  stop(): Promise<void>;
}

/**
 * Issue 10 asks that a scenario fire its rule "within two schedule intervals
 * after the data is indexed". This finds that moment as it happens: once a
 * second, each rule that asks for a remediation is run dry (`rules test`) on
 * the data as it is indexed by then. The scale-in suggestion is left out: it
 * holds whenever traffic is low.
 */
function watchConditions(): Conditions {
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
const watching = new Set<Conditions>();
// A scenario that failed before it stopped its watcher.
afterEach(async () => {
  await Promise.all([...watching].map((c) => c.stop()));
});

/** The rule's first alert since the scenario began came within two rule intervals of its condition holding. */
async function expectPromptAlert(since: Date, rule: string, conditions: Conditions): Promise<void> {
  const first = (await alertsSince(since)).find((a) => a.mlmon.alert.rule === rule);
  expect(first, `an alert of ${rule} since ${since.toISOString()}`).toBeDefined();
  const fired = Date.parse(first!.mlmon.alert.scheduled_time!);
  const met = conditions.metAt(rule);
  expect(met, `${rule} fired, and its condition held on the indexed data too`).toBeDefined();
  const lateS = (fired - met!) / 1000;
  console.log(`${rule}: condition held at ${new Date(met!).toISOString()}, fired at the tick of ${first!.mlmon.alert.scheduled_time} (${lateS} s)`);
  expect(lateS, `${rule}: fired ${lateS} s after its condition held`).toBeLessThanOrEqual(2 * RULES_INTERVAL_S);
}

/** The host CPU the replicas sampled since a time, and their event-loop delays, to tell host contention from a replica's own. */
async function hostCpu(since: Date): Promise<{ median: number; loopDelayMs: Record<string, number> }> {
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

beforeAll(async () => {
  tunedRules();
  await upOnFreePorts({ replicas: 2, maxReplicas: 4 }, env);
  stack = readStackFile(paths)!;
}, 180_000);

afterAll(async () => {
  if (runningStack(paths)) await mlmon('down');
  await cluster.cleanup();
}, 90_000);

describe('alert rules and remediation close the loop on the real stack', () => {
  it('steady traffic fires no rule but, at most, the scale-in suggestion (refused at the minimum)', async () => {
    const since = new Date();
    const run = await mlmon('simulate', 'steady', '--rate', '30', '--duration', String(STEADY_S), '--feedback', '0.3', '--feedback-delay', '1');
    expect(run.code, run.out).toBe(0);
    // Two rule intervals after the last line is indexed.
    await new Promise((r) => setTimeout(r, 15_000));
    const fired = new Set((await alertsSince(since)).map((a) => a.mlmon.alert.rule));
    fired.delete('replica-underuse');
    // A replica's event loop also waits when the host's cores are busy with other work, as in CI,
    // where other test files run beside this one: the warning is true then, and only then allowed.
    if (fired.delete('event-loop-saturation')) {
      const host = await hostCpu(since);
      expect(host.median, `event-loop-saturation fired on a host whose CPU was not saturated: ${JSON.stringify(host)}`).toBeGreaterThanOrEqual(85);
    }
    expect([...fired]).toEqual([]);
    expect(await replicaCount()).toBe(2);
  }, 180_000 + STEADY_S * 1000);

  // Before the spike: a replica scaled in on purpose stops its heartbeats too, and while it is
  // within the rule's lookback the rule reports it (the remediator refuses: unknown replica).
  it('a hung replica (SIGSTOP: the supervisor still sees a live process) is restarted', async () => {
    const victim = (await stackStatus(stack)).processes.find((p) => p.name === 'replica-1')!;
    const since = new Date();
    const conditions = watchConditions();
    process.kill(victim.pid!, 'SIGSTOP');
    try {
      const done = await expectLoop(since, 'restart', 60_000, conditions);
      expect(done.mlmon.remediation.target).toBe('replica-1');
      await expect.poll(async () => (await stackStatus(stack)).processes.find((p) => p.name === 'replica-1')?.pid, { timeout: 20_000 }).not.toBe(victim.pid);
    } finally {
      // Harmless if it was replaced; lets it go if it was not.
      try {
        process.kill(victim.pid!, 'SIGCONT');
      } catch {
        // already gone
      }
    }
  }, 120_000);

  it('replica-crash: kill -9 of a replica loses no request, the supervisor restarts it, and no rule fires', async () => {
    const before = (await stackStatus(stack)).processes.find((p) => p.name === 'replica-2')!.pid;
    const since = new Date();
    const run = await mlmon('simulate', 'replica-crash', '--replica', 'replica-2', '--rate', '30', '--duration', '15', '--feedback', '0');
    // simulate exits 2 when any request was not answered 200.
    expect(run.code, run.out).toBe(0);
    const pid = async () => (await stackStatus(stack)).processes.find((p) => p.name === 'replica-2')?.pid;
    // Restarted: a new process, not the killed one (nor none, while it restarts).
    await expect.poll(pid, { timeout: 20_000 }).toSatisfy((p) => typeof p === 'number' && p !== before);
    // The heartbeat rule's window (15 s here) after the crash, and two rule intervals more.
    await new Promise((r) => setTimeout(r, (15 + 2 * RULES_INTERVAL_S) * 1000));
    const fired = new Set((await alertsSince(since)).map((a) => a.mlmon.alert.rule));
    fired.delete('replica-underuse');
    expect([...fired]).toEqual([]);
  }, 120_000);

  it('spike: replicas go up while it lasts and back down after, never outside 2..3', async () => {
    const since = new Date();
    const conditions = watchConditions();
    const run = await mlmon('simulate', 'spike', '--rate', '20', '--factor', '5', '--duration', '60', '--feedback', '0');
    expect(run.code, run.out).toBe(0);
    const out = await expectLoop(since, 'scale_out', 30_000, conditions);
    expect(out.mlmon.remediation.replicas).toEqual({ before: 2, after: 3 });
    // Back down once traffic is low again and the flap window has passed.
    const quiet = mlmon('simulate', 'steady', '--rate', '4', '--duration', '40', '--feedback', '0');
    // The scale-in suggestion fires whenever traffic is low (refused at the minimum): no single moment to time it from.
    const back = await expectLoop(since, 'scale_in', 90_000);
    expect(back.mlmon.remediation.replicas).toEqual({ before: 3, after: 2 });
    expect((await quiet).code).toBe(0);
    for (const d of [...(await executed(since, 'scale_out')), ...(await executed(since, 'scale_in'))]) {
      expect(d.mlmon.remediation.replicas!.after).toBeGreaterThanOrEqual(2);
      expect(d.mlmon.remediation.replicas!.after).toBeLessThanOrEqual(3);
    }
  }, 240_000);

  it('bad-model --mode canary: the broken canary is removed', async () => {
    const since = new Date();
    const conditions = watchConditions();
    const run = await mlmon('simulate', 'bad-model', '--mode', 'canary', '--weight', '50', '--rate', '30', '--duration', '20', '--feedback', '1', '--feedback-delay', '0.5');
    expect(run.code, run.out).toBe(0);
    const done = await expectLoop(since, 'rollback', 90_000, conditions);
    expect(done.mlmon.remediation.target).toBe('broken');
    expect((await models()).canary).toBeNull();
  }, 150_000);

  it('bad-model --mode active: the previous version is active again', async () => {
    const since = new Date();
    const conditions = watchConditions();
    const run = await mlmon('simulate', 'bad-model', '--mode', 'active', '--rate', '30', '--duration', '20', '--feedback', '1', '--feedback-delay', '0.5');
    expect(run.code, run.out).toBe(0);
    const done = await expectLoop(since, 'rollback', 120_000, conditions);
    expect(done.mlmon.remediation.version).toEqual({ before: 'broken', after: 'v1' });
    expect((await models()).active).toBe('v1');
  }, 150_000);

  it('drift with feedback: a retrained model appears as a canary, with its lineage', async () => {
    const since = new Date();
    const conditions = watchConditions();
    // Drift rules wait for 1,000 predictions in the window: 40/s for 35 s.
    const run = await mlmon('simulate', 'drift', '--rate', '40', '--duration', '35', '--feedback', '0.5', '--feedback-delay', '0.5');
    expect(run.code, run.out).toBe(0);
    // Retraining creates its Python environment on first use: allow for that.
    await expect.poll(async () => (await decisions(since, 'retrain')).map((d) => d.mlmon.remediation.decision), { timeout: 300_000, interval: 3000 }).toContain('registered');
    const registered = (await decisions(since, 'retrain')).find((d) => d.mlmon.remediation.decision === 'registered')!;
    await expectPromptAlert(since, await ruleOf(registered), conditions);
    const version = registered.mlmon.remediation.version!.after!;
    expect((await models()).canary?.version).toBe(version);
    const jobTrail = (await search<Remediation>('mlmon.remediation', new Date(0), [{ term: { 'mlmon.remediation.job_id': registered.mlmon.remediation.job_id! } }])).map((d) => d.mlmon.remediation.decision);
    expect(jobTrail).toEqual(expect.arrayContaining(['started', 'finished', 'registered']));
    const dir = readdirSync(path.join(paths.runDir, 'models')).find((d) => d === version);
    expect(dir && existsSync(path.join(paths.runDir, 'models', version, 'model_card.json'))).toBeTruthy();
  }, 420_000);
  it('after these scenarios the live dashboard, in headless Chromium, has data in every panel and shows the shifted features in the PSI panel', async () => {
    // Rejected input too, so that the rejected-input panels have something to count.
    for (const body of [{ features: { mean_radius: 'x' } }, { instances: [] }, {}]) {
      const res = await fetch(`${stack.url}/v1/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      expect(res.status).toBe(400);
    }
    const { server, url } = await startDashboard({ client: cluster.client, prefix: cluster.prefix }, 0);
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(url);
      const points = () => page.$$eval('.panel', (els) => els.map((e) => [e.getAttribute('data-panel'), Number(e.getAttribute('data-points') ?? 0)] as const));
      const empty = async () => (await points()).filter(([, n]) => n === 0).map(([id]) => id);
      // Every panel drawn first (an empty page has no empty panel either), then each with data.
      await expect.poll(async () => (await points()).length, { timeout: 30_000 }).toBe(DASHBOARDS.flatMap((d) => d.panels).length);
      await expect.poll(empty, { timeout: 60_000, interval: 2000 }).toEqual([]);
      const psi = (await page.textContent('.panel[data-panel="psi-heatmap"]')) ?? '';
      expect(['mean_radius', 'mean_perimeter', 'mean_area', 'worst_radius'].filter((f) => psi.includes(f))).not.toEqual([]);
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
      server.close();
    }
  }, 120_000);
});
