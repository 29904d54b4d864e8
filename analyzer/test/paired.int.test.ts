import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testCluster } from '@mlmon/elasticsearch/testing';
import { setupTemplates } from '@mlmon/contract';
import { DEFAULT_SETTINGS, Joiner, StateFile, analyzeWindow, mcnemarExactPValue, metricEvents, type WindowReport } from '../src/index.js';
import { analysisContext, feedbackEvent, index, reference } from './support.js';

/**
 * A shadow against the active version, request by request, against
 * statsmodels and numpy (model/make_shadow_fixture.py): v1 answers an hour of
 * requests, v2 predicts a copy of each as the shadow (some copies never come,
 * one lands after its feedback), feedback names the active predictions only.
 */

interface ShadowFixture {
  window: { start: string; end: string };
  positive_label: string;
  settings: { alpha: number; min_discordant: number };
  predictions: Array<{
    id: string;
    time: string;
    request_id: string;
    version: string;
    role: 'active' | 'shadow';
    label: string;
    score: number;
    duration_ns: number;
    shadow_id?: string;
    shadow?: object;
  }>;
  late_shadow_id: string;
  feedback: Array<{ prediction_id: string; true_label: string; time: string }>;
  expected: Record<string, number | boolean | string>;
  mcnemar_cases: Array<{ b: number; c: number; p_value: number }>;
}

const fx: ShadowFixture = JSON.parse(readFileSync(new URL('./fixtures/shadow-fixture.json', import.meta.url), 'utf8'));
const cluster = testCluster();
const { client, prefix } = cluster;
const settings = { ...DEFAULT_SETTINGS, alpha: fx.settings.alpha, minDiscordant: fx.settings.min_discordant };
const features = Object.fromEntries(reference.featureNames.map((f) => [f, 1]));

const event = (p: ShadowFixture['predictions'][number]) => ({
  '@timestamp': p.time,
  log: { level: 'info' },
  ecs: { version: '8.10.0' },
  event: { dataset: 'mlmon.prediction', kind: 'event', duration: p.duration_ns },
  service: { name: 'mlmon-api', node: { name: 'replica-1' } },
  message: 'prediction',
  http: { request: { id: p.request_id } },
  mlmon: {
    model: { name: 'breast-cancer-classifier', version: p.version, role: p.role },
    prediction: { id: p.id, label: p.label, score: p.score, features, ...(p.shadow_id ? { shadow_id: p.shadow_id } : {}) },
    ...(p.shadow ? { shadow: p.shadow } : {}),
  },
});

let first: Awaited<ReturnType<Joiner['run']>>;
let second: Awaited<ReturnType<Joiner['run']>>;
let report: WindowReport;

beforeAll(async () => {
  await setupTemplates(client, { prefix });
  await index(client, prefix, [...fx.predictions.filter((p) => p.id !== fx.late_shadow_id).map(event), ...fx.feedback.map(feedbackEvent)]);
  // A copy is waited for until its prediction time is this old: the fixture's hour is in the past.
  const joiner = new Joiner(client, prefix, fx.positive_label, new StateFile(undefined), { shadowWaitMs: Date.now() - Date.parse(fx.window.start) + 3_600_000 });
  first = await joiner.run();
  await index(client, prefix, fx.predictions.filter((p) => p.id === fx.late_shadow_id).map(event));
  second = await joiner.run();
  report = await analyzeWindow(analysisContext(client, prefix, settings), { start: new Date(fx.window.start), end: new Date(fx.window.end), name: '1h' });
}, 120_000);
afterAll(cluster.cleanup);

const group = (role: string) => report.versions.find((g) => g.model.role === role)!;

describe("McNemar's exact test", () => {
  it.each(fx.mcnemar_cases)('b=$b c=$c: equal to statsmodels mcnemar(exact=True) within a relative 1e-6', ({ b, c, p_value }) => {
    const p = mcnemarExactPValue(b, c);
    expect(Math.abs(p - p_value)).toBeLessThanOrEqual(1e-6 * p_value);
  });
});

describe('feedback for an active prediction labels its shadow copy', () => {
  it('joins the copy with the active one, waits for a copy not indexed yet, and joins it once it lands', () => {
    const labeledPairs = fx.expected.labeled_pairs as number;
    expect(first.joined).toBe(fx.feedback.length);
    expect(first.shadows).toBe(labeledPairs - 1);
    // The late copy plus the labeled requests whose copy never came.
    expect(first.shadowsPending).toBeGreaterThanOrEqual(1);
    expect(first.shadows + first.shadowsPending).toBe(fx.feedback.length);
    expect(second.feedbackRead).toBe(0);
    expect(second.shadows).toBe(1);
  });
});

describe('the paired figures of the shadow group', () => {
  it('counts, agreement, discordant counts, accuracies and the McNemar p-value as statsmodels and numpy', () => {
    const p = group('shadow').quality.paired!;
    const e = fx.expected;
    expect(p.active_version).toBe(e.active_version);
    expect(p.pairs).toBe(e.pairs);
    expect(p.labeled_pairs).toBe(e.labeled_pairs);
    expect(p.active_only_correct).toBe(e.active_only_correct);
    expect(p.shadow_only_correct).toBe(e.shadow_only_correct);
    for (const k of ['agreement', 'active_accuracy', 'shadow_accuracy'] as const) expect(Math.abs(p[k]! - (e[k] as number)), k).toBeLessThanOrEqual(1e-12);
    expect(Math.abs(p.mcnemar_p_value! - (e.mcnemar_p_value as number))).toBeLessThanOrEqual(1e-6 * (e.mcnemar_p_value as number));
    expect(p.significantly_better).toBe(e.significantly_better);
    expect(p.significantly_worse).toBe(e.significantly_worse);
  });

  it('the mean score difference of the stored (float32) differences, to 1e-9', () => {
    expect(Math.abs(group('shadow').quality.paired!.score_diff_mean! - (fx.expected.score_diff_mean as number))).toBeLessThanOrEqual(1e-9);
  });

  it("the latency difference's p50 and p99 within the 5% bucket of numpy's order statistic", () => {
    const p = group('shadow').quality.paired!;
    for (const [k, e] of [['latency_diff_p50_ms', fx.expected.latency_diff_p50_ms], ['latency_diff_p99_ms', fx.expected.latency_diff_p99_ms]] as const) {
      expect(Math.abs(p[k]! - (e as number)), k).toBeLessThanOrEqual(0.05 * Math.abs(e as number) + 1e-3);
    }
  });

  it('the shadow is its own group, and its copies are not counted again as received requests', () => {
    expect(group('shadow').quality.count).toBe(fx.expected.pairs);
    expect(group('active').quality.count).toBe(fx.predictions.filter((p) => p.role === 'active').length);
    expect(group('active').quality.paired).toBeUndefined();
  });

  it('goes into the shadow group’s mlmon.quality document', () => {
    const q = metricEvents(report).find((d) => d.dataset === 'mlmon.quality' && (d.fields.mlmon as { model: { role: string } }).model.role === 'shadow')!;
    expect((q.fields.mlmon as { quality: { paired: { shadow_only_correct: number } } }).quality.paired.shadow_only_correct).toBe(fx.expected.shadow_only_correct);
    expect(q.message).toContain('SIGNIFICANTLY BETTER');
  });
});
