import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testCluster } from '@mlmon/elasticsearch/testing';
import { setupTemplates } from '@mlmon/contract';
import { DEFAULT_SETTINGS, Joiner, StateFile, analyzeWindow, ksPValue, metricEvents, type GroupReport, type WindowReport } from '../src/index.js';
import { analysisContext, feedbackEvent, fixture, index, predictionEvent, rejectedEvent } from './support.js';

/**
 * The analyzer against scikit-learn, scipy and statsmodels: the fixture
 * (model/make_fixtures.py) holds traffic and the values those libraries
 * compute on it; here the traffic goes into the real cluster and the analyzer's
 * figures must match: 1e-9 for counts and ratios, and within its own stated
 * bound (at most 1e-3) for the histogram-based ROC AUC.
 */

const TOL = 1e-9;
const cluster = testCluster();
const { client, prefix } = cluster;
const settings = { ...DEFAULT_SETTINGS, psiFloor: fixture.settings.psi_floor, alpha: fixture.settings.alpha };
const ctx = analysisContext(client, prefix, settings);
const window = { start: new Date(fixture.window.start), end: new Date(fixture.window.end), name: '1h' };
const late = new Set(fixture.late_prediction_ids);
let firstJoin: Awaited<ReturnType<Joiner['run']>>;
let secondJoin: Awaited<ReturnType<Joiner['run']>>;
let report: WindowReport;

beforeAll(async () => {
  await setupTemplates(client, { prefix });
  const names = fixture.feature_names;
  await index(client, prefix, fixture.predictions.filter((p) => !late.has(p.id)).map((p) => predictionEvent(p, names)));
  await index(client, prefix, [...fixture.feedback.map(feedbackEvent), ...fixture.rejected.map(rejectedEvent)]);
  const joiner = new Joiner(client, prefix, fixture.positive_label, new StateFile(undefined));
  firstJoin = await joiner.run();
  // The late predictions land after their feedback was first seen.
  await index(client, prefix, fixture.predictions.filter((p) => late.has(p.id)).map((p) => predictionEvent(p, names)));
  secondJoin = await joiner.run();
  report = await analyzeWindow(ctx, window);
}, 120_000);
afterAll(cluster.cleanup);

const group = (key: string, of = report) => {
  const [version, role] = key.split('/');
  const g = of.versions.find((v) => v.model.version === version && v.model.role === role);
  if (!g) throw new Error(`no report for ${key}`);
  return g;
};

/** Quality from ground truth against sklearn.metrics: 1e-9 on counts and ratios, ROC AUC within its stated bound. */
function expectQuality(q: GroupReport['quality'], e: Record<string, unknown>): void {
  const x = e as Record<string, number> & { confusion: object };
  expect(q.confusion).toEqual(x.confusion);
  for (const k of ['count', 'labeled', 'label_coverage', 'accuracy', 'precision', 'recall', 'f1', 'log_loss', 'brier'] as const) {
    expect(q[k], k).toBeCloseTo(x[k]!, 9);
    expect(Math.abs((q[k] as number) - x[k]!), k).toBeLessThanOrEqual(TOL);
  }
  expect(q.sufficient).toBe(q.labeled >= settings.minLabeled);
  expect(q.roc_auc_max_error).toBeLessThanOrEqual(1e-3);
  expect(Math.abs(q.roc_auc! - x.roc_auc!)).toBeLessThanOrEqual(q.roc_auc_max_error! + TOL);
}

describe('feedback join', () => {
  it('counts feedback whose prediction is not indexed as orphaned, and joins it once the prediction lands', () => {
    // The late ones plus one feedback whose prediction never exists.
    expect(firstJoin.orphaned).toBe(late.size + 1);
    expect(secondJoin.feedbackRead).toBe(0);
    expect(secondJoin.joined).toBe(late.size);
  });

  it('keeps the latest of duplicate feedback, whatever the order it is processed in', async () => {
    const dupes = new Map<string, string[]>();
    for (const f of fixture.feedback) dupes.set(f.prediction_id, [...(dupes.get(f.prediction_id) ?? []), f.time]);
    const ids = [...dupes].filter(([, times]) => times.length > 1).map(([id]) => id);
    expect(ids.length).toBeGreaterThan(0);
    const res = await client.search<{ mlmon: { prediction: { id: string }; feedback: { true_label: string } } }>({
      index: `${prefix}-labeled-*`,
      size: 100,
      query: { terms: { 'mlmon.prediction.id': ids } },
    });
    expect(res.hits.hits).toHaveLength(ids.length);
    for (const h of res.hits.hits) {
      const latest = fixture.feedback.filter((f) => f.prediction_id === h._source!.mlmon.prediction.id).sort((a, b) => a.time.localeCompare(b.time)).at(-1)!;
      expect(h._source!.mlmon.feedback.true_label).toBe(latest.true_label);
    }
  });

  it('joins a replayed request to the prediction the client got; the attempt that failed stays unlabeled', async () => {
    const replay = fixture.predictions.find((p) => p.replay_of)!;
    const first = fixture.predictions.find((p) => p.id === replay.replay_of)!;
    expect(replay.request_id).toBe(first.request_id);
    const res = await client.search({ index: `${prefix}-labeled-*`, query: { term: { 'http.request.id': replay.request_id } } });
    expect(res.hits.hits.map((h) => h._id)).toEqual([replay.id]);
  });

  it('joining again changes nothing', async () => {
    const joiner = new Joiner(client, prefix, fixture.positive_label, new StateFile(undefined));
    const again = await joiner.run();
    // Every write is refused as not newer than what is there.
    expect(again.superseded).toBe(again.feedbackRead);
    const after = await analyzeWindow(ctx, window);
    expect(after.versions.map((v) => v.quality)).toEqual(report.versions.map((v) => v.quality));
  });
});

describe.each(Object.keys(fixture.expected.groups))('%s against the reference implementations', (key) => {
  const expected = () => fixture.expected.groups[key]!;

  it('quality from ground truth matches sklearn.metrics; ROC AUC from histograms within its stated bound, itself at most 1e-3', () => {
    expectQuality(group(key).quality, expected().quality);
  });

  it('label-free statistics match numpy on the float32 scores', () => {
    const q = group(key).quality;
    const e = expected().quality as Record<string, number>;
    for (const k of ['avg_score', 'min_score', 'max_score', 'positive_rate'] as const) {
      expect(Math.abs(q[k]! - e[k]!), k).toBeLessThanOrEqual(TOL);
    }
    expect(Object.values(q.score_histogram!)).toEqual(expected().quality.score_histogram);
  });

  it('drift per feature: PSI by the textbook formula, KS statistic and p-value as scipy.stats.ks_2samp, BH correction, verdicts against the reference thresholds', () => {
    const g = group(key);
    const e = expected().drift;
    expect(g.drift.features).toHaveLength(fixture.feature_names.length);
    for (const d of [...g.drift.features, g.drift.score!]) {
      const x = e[d.feature]! as Record<string, number>;
      expect(d.count, d.feature).toBe(x.count);
      expect(Math.abs(d.psi - x.psi!), `${d.feature} psi`).toBeLessThanOrEqual(TOL);
      expect(Math.abs(d.ks - x.ks!), `${d.feature} ks`).toBeLessThanOrEqual(TOL);
      expect(Math.abs(d.p_value - x.p_value!), `${d.feature} p`).toBeLessThanOrEqual(TOL);
      if (d.feature !== 'score') expect(Math.abs(d.p_value_adjusted! - x.p_value_adjusted!), `${d.feature} p adj`).toBeLessThanOrEqual(TOL);
      expect(Math.abs(d.ks_threshold! - x.ks_threshold!), `${d.feature} ks threshold`).toBeLessThanOrEqual(TOL);
      expect(Math.abs(d.psi_threshold! - x.psi_threshold!), `${d.feature} psi threshold`).toBeLessThanOrEqual(TOL);
      expect(d.drifted, `${d.feature} drifted`).toBe(x.drifted);
      expect(d.psi_alert, `${d.feature} psi_alert`).toBe(x.psi_alert);
    }
    const s = e._all as unknown as { drifted_count: number; drifted_share: number; drifted_share_threshold: number; drifted_share_alert: boolean; max_psi_feature: string };
    expect(g.drift.summary).toMatchObject({
      drifted_count: s.drifted_count,
      drifted_share_alert: s.drifted_share_alert,
      max_psi_feature: s.max_psi_feature,
      correction: 'benjamini-hochberg',
      min_samples: fixture.univariate_thresholds.chunk_size,
    });
    expect(Math.abs(g.drift.summary.drifted_share! - s.drifted_share)).toBeLessThanOrEqual(TOL);
    expect(Math.abs(g.drift.summary.drifted_share_threshold! - s.drifted_share_threshold)).toBeLessThanOrEqual(TOL);
  });

  it('data quality: out-of-range rates against the reference range, missing and invalid from rejected requests', () => {
    const g = group(key);
    const e = expected().data_quality;
    for (const f of g.data_quality.features) {
      for (const k of ['missing_rate', 'invalid_rate', 'out_of_range_rate'] as const) {
        expect(Math.abs(f[k]! - e[f.feature]![k]!), `${f.feature} ${k}`).toBeLessThanOrEqual(TOL);
      }
    }
    expect(g.data_quality.summary.count).toBe(e._all!.count);
    expect(g.data_quality.summary.rejected_count).toBe(e._all!.rejected_count);
    for (const k of ['out_of_range_rate', 'rejected_rate'] as const) expect(Math.abs(g.data_quality.summary[k]! - e._all![k]!)).toBeLessThanOrEqual(TOL);
  });
});

describe('canary against active', () => {
  it('accuracy difference, Newcombe interval and z-test p-value match statsmodels', () => {
    const vs = group('v2/canary').quality.vs_active!;
    const e = fixture.expected.vs_active;
    for (const k of ['accuracy_diff', 'accuracy_diff_low', 'accuracy_diff_high', 'p_value', 'avg_score_diff'] as const) {
      expect(Math.abs(vs[k]! - (e[k] as number)), k).toBeLessThanOrEqual(TOL);
    }
    expect(vs.significantly_worse).toBe(e.significantly_worse);
    expect(vs).toMatchObject({ active_labeled: e.active_labeled, canary_labeled: e.canary_labeled, active_version: 'v1' });
    expect(group('v1/active').quality.vs_active).toBeUndefined();
  });
});

describe('KS p-value', () => {
  it.each(fixture.expected.ks_cases)('n1=$n1 n2=$n2 d=$d ($method) matches scipy', (c) => {
    expect(Math.abs(ksPValue(c.d, c.n1, c.n2) - c.p_value)).toBeLessThanOrEqual(TOL);
  });
});

describe('fewer labeled predictions than MLMON_ANALYZER_MIN_LABELED', () => {
  it('reports the ratios, equal to sklearn.metrics on those rows, as not sufficient, with the minimum', async () => {
    const few = fixture.expected.few_labels;
    const small = await analyzeWindow(ctx, { start: new Date(few.window.start), end: new Date(few.window.end), name: '5m' });
    expect(small.versions.map((v) => `${v.model.version}/${v.model.role}`)).toEqual([few.group]);
    const g = group(few.group, small);
    expect(g.quality.labeled).toBeGreaterThan(0);
    expect(g.quality.labeled).toBeLessThan(settings.minLabeled);
    expectQuality(g.quality, few.quality);
    expect(g.quality).toMatchObject({ sufficient: false, min_samples: settings.minLabeled });
    expect(g.notes).toContain(`quality: insufficient data: ${g.quality.labeled} labeled, ${settings.minLabeled} needed`);
    const event = metricEvents(small).find((e) => e.dataset === 'mlmon.quality')!;
    expect(event.message).toBe(`quality ${few.group.replace('/', ' (')}) 5m: insufficient data (${g.quality.labeled} labeled, ${settings.minLabeled} needed)`);
  });
});

describe('a pinned version', () => {
  // The api logs role "pinned" for a request whose model_version is not the active one (the canary's included).
  // The window's traffic again, a day later, with v2 pinned instead of canary: the same figures, under role pinned.
  const DAY = 86_400_000;
  const later = (t: string) => new Date(Date.parse(t) + DAY).toISOString();
  let pinned: WindowReport;

  beforeAll(async () => {
    const inWindow = fixture.predictions.filter((p) => p.time >= fixture.window.start && p.time < fixture.window.end);
    const ids = new Map(inWindow.map((p) => [p.id, `pinned-${p.id}`]));
    await index(
      client,
      prefix,
      inWindow.map((p) =>
        predictionEvent({ ...p, id: ids.get(p.id)!, request_id: `${p.request_id}-pinned`, time: later(p.time), role: p.role === 'canary' ? 'pinned' : p.role }, fixture.feature_names),
      ),
    );
    await index(client, prefix, fixture.feedback.filter((f) => ids.has(f.prediction_id)).map((f) => feedbackEvent({ ...f, prediction_id: ids.get(f.prediction_id)!, time: later(f.time) })));
    await new Joiner(client, prefix, fixture.positive_label, new StateFile(undefined)).run();
    pinned = await analyzeWindow(ctx, { start: new Date(later(fixture.window.start)), end: new Date(later(fixture.window.end)), name: '1h' });
  }, 120_000);

  it('is reported under role pinned, apart from the active version, with the quality sklearn.metrics computes', () => {
    expect(pinned.versions.map((v) => `${v.model.version}/${v.model.role}`).sort()).toEqual(['v1/active', 'v2/pinned']);
    expectQuality(group('v2/pinned', pinned).quality, fixture.expected.groups['v2/canary']!.quality);
    expectQuality(group('v1/active', pinned).quality, fixture.expected.groups['v1/active']!.quality);
  });

  it('is not compared with the active version: only a canary is', () => {
    expect(group('v2/pinned', pinned).quality.vs_active).toBeUndefined();
    const quality = metricEvents(pinned).filter((e) => e.dataset === 'mlmon.quality');
    expect(quality.map((e) => (e.fields as { mlmon: { model: { role: string } } }).mlmon.model.role).sort()).toEqual(['active', 'pinned']);
  });
});
