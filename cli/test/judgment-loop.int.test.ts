/**
 * The judgments on the real local stack (issue 21), with the shipped timing:
 * the analyzer every 15 s over 1m,5m,1h, the judgment rules every 15 s on the
 * 1m window against the thresholds the analyzer derived from the reference.
 *
 * - Steady traffic of the holdout's own rows fires no drift, OOD or estimate
 *   rule, while every 1m window of it is judged (not merely left unjudged).
 * - `simulate drift` at 100 req/s then fires a drift rule within 120 s of the
 *   shift's first prediction (and is stopped there).
 * - The scenarios with known truth: after `simulate covariate-shift`, `analyze`
 *   finds the realized accuracy the scenario printed and CBPE's estimate follows
 *   it; after `simulate concept-drift`, it finds the fallen realized accuracy
 *   the scenario printed while CBPE's estimate stays.
 *
 * The issue asks for five minutes of steady traffic before the shift; the
 * rules that judge it read only the last minute, so what five minutes check
 * is that minute full of steady traffic, judged tick after tick: the default
 * MLMON_TEST_JUDGMENT_STEADY=120s keeps the 1m window full of it for a minute,
 * judged at three or four ticks (the 5m window is not what these rules read).
 * MLMON_TEST_JUDGMENT_STEADY=5m runs the five minutes. The remediator runs dry: a
 * retraining (drift's remediation) would take the cores the timing runs on.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rulesIndex, type EventOf } from '@mlmon/contract';
import { testCluster } from '@mlmon/elasticsearch/testing';
import { loadConfig, waitUntil } from '@mlmon/runtime';
import { testConfigShape } from '@mlmon/runtime/testing';
import { runPaths } from '../src/stack/paths.js';
import { runningStack } from '../src/stack/stack-file.js';
import { mlmon as runMlmon, upOnFreePorts } from './mlmon-process.js';

const STEADY_S = loadConfig({ MLMON_TEST_JUDGMENT_STEADY: testConfigShape.MLMON_TEST_JUDGMENT_STEADY }).MLMON_TEST_JUDGMENT_STEADY / 1000;
const RATE = '100';
const JUDGMENT_RULES = ['drift-share', 'drift-psi', 'multivariate-drift', 'ood-rate', 'performance-estimate-low'];
const DRIFT_RULES = ['drift-share', 'drift-psi', 'multivariate-drift'];
const cluster = testCluster();
const paths = runPaths(path.join(mkdtempSync(path.join(os.tmpdir(), 'mlmon-judgment-')), 'run'));
const env = { ...process.env, MLMON_RUN_DIR: paths.runDir, MLMON_ES_URL: cluster.url, MLMON_INDEX_PREFIX: cluster.prefix, MLMON_REMEDIATOR_DRY_RUN: 'true' };
const mlmon = (...args: string[]) => runMlmon(args, env);

type Alert = EventOf<'mlmon.alert'>;
type Quality = EventOf<'mlmon.quality'>;
type Drift = EventOf<'mlmon.drift'>;
type DataQuality = EventOf<'mlmon.data_quality'>;

async function search<T>(index: string, since: number, filter: object[], size = 500): Promise<T[]> {
  const res = await cluster.client.search<T>(
    { index, size, sort: [{ '@timestamp': 'asc' }], query: { bool: { filter: [{ range: { '@timestamp': { gte: new Date(since).toISOString() } } }, ...filter] } } },
    { ignore: [404] },
  );
  return (res.hits?.hits ?? []).map((h) => h._source!);
}
const events = <T>(dataset: string, since: number, filter: object[] = []) => search<T>(`${cluster.prefix}-events-*`, since, [{ term: { 'event.dataset': dataset } }, ...filter]);
/** The analyzer's documents of the active version's 1-minute windows. */
const judged = <T>(dataset: string, since: number, filter: object[] = []) =>
  search<T>(`${cluster.prefix}-metrics-*`, since, [{ term: { 'event.dataset': dataset } }, { term: { 'mlmon.model.role': 'active' } }, { term: { 'mlmon.window.name': '1m' } }, ...filter]);

/** Every judgment rule executed at a tick after `at`: what the indexed data held by then, the rules have seen. */
async function rulesRanAfter(at: number): Promise<void> {
  await waitUntil(
    async () => {
      const res = await cluster.client.search(
        {
          index: rulesIndex(cluster.prefix, 'history-*'),
          size: 0,
          query: { bool: { filter: [{ terms: { watch_id: JUDGMENT_RULES } }, { range: { 'trigger_event.schedule.scheduled_time': { gt: new Date(at).toISOString() } } }] } },
          aggs: { rules: { terms: { field: 'watch_id', size: 20 } } },
        },
        { ignore: [404] },
      );
      return ((res.aggregations?.rules as { buckets?: unknown[] } | undefined)?.buckets?.length ?? 0) === JUDGMENT_RULES.length;
    },
    { timeoutMs: 60_000, intervalMs: 1000, what: `every judgment rule executed after ${new Date(at).toISOString()}` },
  );
}

/** The figures a scenario with known truth prints: the realized accuracy of its labeled answers and the span to analyze. */
function printed(out: string): { realized: number; labeled: number; from: string; to: string } {
  const realized = /realized accuracy of the (\d+) answers that got ground truth: ([\d.]+)/.exec(out);
  const span = /analyze --from (\S+) --to (\S+)/.exec(out);
  expect(realized && span, out).toBeTruthy();
  return { realized: Number(realized![2]), labeled: Number(realized![1]), from: span![1]!, to: span![2]! };
}

interface Analyzed {
  versions: Array<{ model: { version: string; role: string }; quality: { labeled: number; accuracy?: number; estimated_accuracy?: number; estimated_accuracy_lower?: number; estimated_accuracy_upper?: number } }>;
}
/** `mlmon analyze --json` over a span, once every label sent in it is indexed. */
async function analyzeActive(span: { from: string; to: string }, labels: number): Promise<Analyzed['versions'][number]['quality']> {
  return waitUntil(
    async () => {
      const run = await mlmon('analyze', '--from', span.from, '--to', span.to, '--json');
      expect(run.code, run.out).toBe(0);
      const q = (JSON.parse(run.out) as Analyzed).versions.find((v) => v.model.role === 'active')?.quality;
      return q && q.labeled >= labels ? q : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 2000, what: `the ${labels} labels of ${span.from} to ${span.to} analyzed` },
  );
}

beforeAll(async () => {
  await upOnFreePorts({ replicas: 2, maxReplicas: 3 }, env);
}, 180_000);

afterAll(async () => {
  if (runningStack(paths)) await mlmon('down');
  await cluster.cleanup();
}, 90_000);

describe('judgments against the reference on the real stack', () => {
  it(`steady holdout traffic for ${STEADY_S} s: every 1m window judged, none alerting, and no drift, OOD or estimate rule fires`, async () => {
    const since = Date.now();
    const run = await mlmon('simulate', 'steady', '--rate', RATE, '--duration', String(STEADY_S), '--feedback', '0.3', '--feedback-delay', '1');
    expect(run.code, run.out).toBe(0);
    const ended = Date.now();
    // The analyzer's first tick after the traffic ended, and the rules' next ticks after it.
    const last = await waitUntil(async () => (await judged<Drift>('mlmon.drift', ended, [{ term: { 'mlmon.drift.feature': '_all' } }]))[0], {
      timeoutMs: 60_000,
      intervalMs: 1000,
      what: 'a drift summary after the steady traffic',
    });
    await rulesRanAfter(Date.parse(last['@timestamp']));

    // Judged, not merely quiet: a full 1m window every 15 s from one minute in, each verdict present and false.
    const full = since + 75_000;
    const summaries = await judged<Drift>('mlmon.drift', full, [{ term: { 'mlmon.drift.feature': '_all' } }, { range: { '@timestamp': { lte: new Date(ended).toISOString() } } }]);
    const quality = await judged<Quality>('mlmon.quality', full, [{ range: { '@timestamp': { lte: new Date(ended).toISOString() } } }]);
    const dq = await judged<DataQuality>('mlmon.data_quality', full, [{ term: { 'mlmon.data_quality.feature': '_all' } }, { range: { '@timestamp': { lte: new Date(ended).toISOString() } } }]);
    const ticks = Math.floor((ended - full) / 15_000) - 1;
    expect(ticks).toBeGreaterThanOrEqual(1);
    for (const [what, docs] of [['drift', summaries], ['quality', quality], ['data quality', dq]] as const) expect(docs.length, what).toBeGreaterThanOrEqual(ticks);
    expect(summaries.map((d) => [d.mlmon.drift.drifted_share_alert, d.mlmon.drift.reconstruction_error_alert])).toEqual(summaries.map(() => [false, false]));
    expect(quality.map((d) => d.mlmon.quality.estimated_accuracy_alert)).toEqual(quality.map(() => false));
    expect(dq.map((d) => d.mlmon.data_quality.ood_rate_alert)).toEqual(dq.map(() => false));

    const fired = (await events<Alert>('mlmon.alert', since)).map((a) => a.mlmon.alert.rule);
    expect(fired.filter((r) => JUDGMENT_RULES.includes(r))).toEqual([]);
  }, 240_000 + STEADY_S * 1000);

  it('simulate drift at 100 req/s fires a drift rule within 120 s of the shift starting', async () => {
    const spawned = Date.now();
    // Long enough for the slowest expected alert, and stopped once a drift rule fired: what the shifted traffic
    // has to show ends there, and the known-truth scenarios that follow need it gone (up to 90 s less to wait).
    const stop = new AbortController();
    const traffic = runMlmon(['simulate', 'drift', '--rate', RATE, '--duration', '130', '--feedback', '0'], env, stop.signal);
    try {
      const shifted = await waitUntil(async () => (await search<{ '@timestamp': string }>(`${cluster.prefix}-predictions-*`, spawned, []))[0], {
        timeoutMs: 30_000,
        intervalMs: 250,
        what: 'the first shifted prediction indexed',
      });
      const t0 = Date.parse(shifted['@timestamp']);
      const alert = await waitUntil(async () => (await events<Alert>('mlmon.alert', t0, [{ terms: { 'mlmon.alert.rule': DRIFT_RULES } }]))[0], {
        timeoutMs: 150_000,
        intervalMs: 1000,
        what: 'a drift rule firing',
      });
      const delayS = (Date.parse(alert['@timestamp']) - t0) / 1000;
      console.log(`${alert.mlmon.alert.rule} fired ${delayS.toFixed(1)} s after the shift's first prediction (value ${alert.mlmon.alert.value}, reference threshold ${alert.mlmon.alert.threshold})`);
      expect(delayS, `${alert.mlmon.alert.rule} fired ${delayS} s after the shift started`).toBeLessThanOrEqual(120);
      expect(alert.mlmon.alert.value!).toBeGreaterThan(alert.mlmon.alert.threshold!);
    } finally {
      stop.abort();
    }
    // Still sending when the rule fired (not ended early by a failure): it ends by the test's SIGTERM.
    const done = await traffic;
    expect({ code: done.code, signal: done.signal }, done.out).toEqual({ code: null, signal: 'SIGTERM' });
  }, 330_000);

  /** A scenario with known truth, then `analyze` over its span: the realized accuracy it printed, and CBPE's estimate. */
  async function knownTruth(scenario: string): Promise<{ printed: number; q: Analyzed['versions'][number]['quality'] }> {
    const run = await mlmon('simulate', scenario, '--rate', RATE, '--duration', '30', '--feedback', '1', '--feedback-delay', '0.5');
    expect(run.code, run.out).toBe(0);
    const truth = printed(run.out);
    const q = await analyzeActive(truth, truth.labeled);
    expect(q.accuracy!).toBeCloseTo(truth.realized, 3);
    console.log(`${scenario}: realized ${q.accuracy}, CBPE ${q.estimated_accuracy} [${q.estimated_accuracy_lower}, ${q.estimated_accuracy_upper}]`);
    return { printed: truth.realized, q };
  }

  it('covariate shift: analyze finds the realized accuracy the scenario printed, and CBPE follows it', async () => {
    const { printed: realized, q } = await knownTruth('covariate-shift');
    expect(realized).toBeLessThan(0.96);
    expect(Math.abs(q.estimated_accuracy! - q.accuracy!)).toBeLessThan(0.05);
  }, 180_000);

  it('concept drift: analyze finds the fallen realized accuracy the scenario printed, while CBPE stays', async () => {
    const { printed: realized, q } = await knownTruth('concept-drift');
    expect(realized).toBeLessThan(0.75);
    // What CBPE cannot see: the inputs are the holdout's, so it estimates what it does for the holdout.
    expect(q.estimated_accuracy!).toBeGreaterThan(0.9);
  }, 180_000);
});
