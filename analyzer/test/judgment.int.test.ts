import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupTemplates } from '@mlmon/contract';
import { testCluster } from '@mlmon/elasticsearch/testing';
import { bootstrappedPython } from '@mlmon/runtime/testing';
import { analyzeWindow, CBPE_METRICS, type GroupReport } from '../src/index.js';
import { judgmentFixture as committed, readJudgmentFixture, windowFeatures, type JudgmentFixture, type NannymlMetric } from './judgment-support.js';
import { analysisContext, index } from './support.js';

/**
 * The judgments through the real path against NannyML 0.13.1 itself: the test
 * runs model/make_judgment_fixtures.py (NannyML installed in model/.venv by
 * scripts/bootstrap.sh --test), indexes each window's predictions into
 * Elasticsearch as the replicas log them (score, label, features and the OOD
 * score), and holds the analyzer's window figures to NannyML's per chunk:
 * CBPE within 0.005 (the bound; the label metrics agree to float
 * rounding, ROC AUC within its reported bound), reconstruction drift within
 * 1% (float32 storage of the OOD score is all that separates them).
 */

const repo = new URL('../../', import.meta.url).pathname;
const cluster = testCluster();
const { client, prefix } = cluster;
const ctx = analysisContext(client, prefix);
const work = mkdtempSync(path.join(os.tmpdir(), 'mlmon-judgment-'));
const HOUR = 3_600_000;
const T0 = Date.parse('2005-01-01T00:00:00Z');
const names = Object.keys(committed.windows);
let fx: JudgmentFixture;
const reports = new Map<string, GroupReport>();

beforeAll(async () => {
  const python = await bootstrappedPython(repo);
  const out = path.join(work, 'judgment-fixture.json');
  await promisify(execFile)(python, [path.join(repo, 'model/make_judgment_fixtures.py'), '--out', out], { cwd: repo, timeout: 600_000 });
  fx = readJudgmentFixture(out);
  await setupTemplates(client, { prefix });
  const events: unknown[] = [];
  names.forEach((name, w) => {
    const features = windowFeatures(fx, name);
    const errors = fx.reconstruction.windows[name]!.row_errors;
    for (const c of fx.cbpe.filter((x) => 'artifact' in x.reference)) {
      const version = (c.reference as { artifact: string }).artifact;
      const scored = c.windows.find((x) => x.name === name)!;
      scored.y_pred_proba.forEach((score, i) => {
        const at = new Date(T0 + w * HOUR + Math.floor((i * HOUR) / scored.y_pred_proba.length)).toISOString();
        events.push({
          '@timestamp': at,
          log: { level: 'info' },
          ecs: { version: '8.10.0' },
          event: { dataset: 'mlmon.prediction', kind: 'event', duration: 1_000_000 },
          service: { name: 'mlmon-api', node: { name: 'replica-1' } },
          http: { request: { id: `${name}-${version}-${i}` } },
          message: 'prediction',
          mlmon: {
            model: { name: 'breast-cancer-classifier', version, role: 'active' },
            prediction: {
              id: `${name}-${version}-${i}`,
              label: scored.y_pred[i] === 1 ? 'malignant' : 'benign',
              score,
              features: Object.fromEntries(fx.feature_names.map((f, j) => [f, features[i]![j]!])),
              ood: { score: errors[i]!, flag: errors[i]! > fx.ood.threshold, threshold: fx.ood.threshold },
            },
          },
        });
      });
    }
  });
  await index(client, prefix, events);
  for (const [w, name] of names.entries()) {
    const r = await analyzeWindow(ctx, { start: new Date(T0 + w * HOUR), end: new Date(T0 + (w + 1) * HOUR), name: '1h' });
    for (const g of r.versions) reports.set(`${g.model.version} ${name}`, g);
  }
}, 900_000);
afterAll(async () => {
  await cluster.cleanup();
  rmSync(work, { recursive: true, force: true });
});

const group = (version: string, name: string) => {
  const g = reports.get(`${version} ${name}`);
  if (!g) throw new Error(`no report for ${version} in window ${name}`);
  return g;
};

describe('the committed fixture', () => {
  it('is what NannyML computes today (the unit tests read it without Python)', () => {
    const figures = (f: JudgmentFixture) => [
      ...f.cbpe.flatMap((c) => c.windows.flatMap((w) => CBPE_METRICS.map((m) => w.expected[m]!.value ?? NaN))),
      ...Object.values(f.reconstruction.windows).map((w) => w.expected.value!),
      ...Object.values(f.univariate.features).map((t) => t.ks_threshold),
    ];
    const now = figures(fx);
    const then = figures(committed);
    expect(now).toHaveLength(then.length);
    now.forEach((v, i) => expect(Number.isNaN(v) ? Number.isNaN(then[i]!) : Math.abs(v - then[i]!) <= 1e-9, `figure ${i}: ${v} vs ${then[i]}`).toBe(true));
  });
});

describe.each(['v1', 'v2'])('CBPE of %s through Elasticsearch against NannyML', (version) => {
  const c = () => fx.cbpe.find((x) => x.name === version)!;

  it.each(names)('window %s: the five estimates, their bounds, thresholds and alerts', (name) => {
    const g = group(version, name);
    const q = g.quality as unknown as Record<string, number | boolean | undefined>;
    const w = c().windows.find((x) => x.name === name)!;
    expect(g.quality.count).toBe(w.y_pred.length);
    expect(g.quality.cbpe).toMatchObject({ calibrated: c().fit.calibrated, reference_rows: 114, reference_chunk_size: c().fit.chunk_size });
    const judged = w.y_pred.length >= c().fit.chunk_size;
    for (const m of CBPE_METRICS) {
      const e: NannymlMetric = w.expected[m]!;
      const name_ = `estimated_${m}`;
      const tol = m === 'roc_auc' ? Math.min(0.005, (q.estimated_roc_auc_max_error as number) + 1e-5) : 1e-9;
      const pairs: Array<[string, number | null]> = [
        [name_, e.value],
        [`${name_}_lower`, e.lower_confidence_boundary],
        [`${name_}_upper`, e.upper_confidence_boundary],
        [`${name_}_threshold_lower`, e.lower_threshold],
        [`${name_}_threshold_upper`, e.upper_threshold],
      ];
      for (const [k, theirs] of pairs) {
        if (theirs === null) expect(q[k], k).toBeUndefined();
        else expect(Math.abs((q[k] as number) - theirs), `${k}: mlmon ${q[k]}, NannyML ${theirs}`).toBeLessThanOrEqual(tol);
      }
      expect(q[`${name_}_alert`], `${name_}_alert`).toBe(judged ? e.alert : undefined);
    }
  });
});

describe('reconstruction drift and OOD rate through Elasticsearch against NannyML and numpy', () => {
  it.each(names)('window %s', (name) => {
    for (const version of ['v1', 'v2']) {
      const d = group(version, name).drift.summary;
      const e = fx.reconstruction.windows[name]!.expected;
      const rel = (a: number | undefined, b: number | null) => Math.abs(a! - b!) / Math.abs(b!);
      expect(rel(d.reconstruction_error, e.value)).toBeLessThanOrEqual(0.01);
      expect(rel(d.reconstruction_error_lower, e.lower_confidence_boundary)).toBeLessThanOrEqual(0.01);
      expect(rel(d.reconstruction_error_upper, e.upper_confidence_boundary)).toBeLessThanOrEqual(0.01);
      expect(rel(d.reconstruction_error_threshold_lower, e.lower_threshold)).toBeLessThanOrEqual(1e-12);
      expect(rel(d.reconstruction_error_threshold_upper, e.upper_threshold)).toBeLessThanOrEqual(1e-12);
      const judged = fx.windows[name]!.rows.length >= fx.ood.chunk_size;
      expect(d.reconstruction_error_alert).toBe(judged ? e.alert : undefined);
      const dq = group(version, name).data_quality.summary;
      expect(dq.ood_rate).toBeCloseTo(fx.ood.windows[name]!.ood_rate, 12);
      expect(dq.ood_rate_threshold_upper).toBeCloseTo(fx.ood.rate_threshold_upper, 12);
      expect(dq.ood_rate_alert).toBe(judged ? fx.ood.windows[name]!.alert : undefined);
    }
  });
});

describe('univariate drift verdicts against the reference thresholds', () => {
  it.each(names)('window %s: KS and PSI verdicts per feature and the drifted share as scipy gives them', (name) => {
    const g = group('v1', name);
    const e = fx.univariate.windows[name]!;
    if (e.count < fx.univariate.chunk_size) {
      expect(g.drift.summary.sufficient).toBe(false);
      expect(g.drift.features).toEqual([]);
      return;
    }
    for (const d of g.drift.features) {
      const x = e.features[d.feature]!;
      expect(Math.abs(d.ks - x.ks), d.feature).toBeLessThanOrEqual(1e-9);
      expect(d.drifted, `${d.feature} drifted`).toBe(x.drifted);
      expect(d.psi_alert, `${d.feature} psi_alert`).toBe(x.psi_alert);
    }
    expect(g.drift.summary.drifted_share).toBeCloseTo(e.drifted_share, 12);
    expect(g.drift.summary.drifted_share_alert).toBe(e.drifted_share_alert);
  });

  it('a replay of the holdout raises no judgment; the holdout shifted by 2 sd on 4 features raises the multivariate and univariate ones', () => {
    const alerts = (g: GroupReport) => [
      ...CBPE_METRICS.filter((m) => g.quality[`estimated_${m}_alert`]).map((m) => `estimated_${m}`),
      ...(g.drift.summary.reconstruction_error_alert ? ['reconstruction_error'] : []),
      ...(g.drift.summary.drifted_share_alert ? ['drifted_share'] : []),
      ...(g.data_quality.summary.ood_rate_alert ? ['ood_rate'] : []),
      ...g.drift.features.filter((d) => d.drifted).map((d) => d.feature),
    ];
    expect(alerts(group('v1', 'holdout-replay'))).toEqual([]);
    expect(alerts(group('v2', 'holdout-replay'))).toEqual([]);
    expect(alerts(group('v1', 'covariate-shift-2sd'))).toEqual(['reconstruction_error', 'drifted_share', 'mean_radius', 'mean_perimeter', 'mean_area', 'worst_radius']);
  });
});
