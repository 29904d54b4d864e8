import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadHoldoutFile } from '../src/simulate/holdout.js';
import { boundaryResample, boundaryWeight, flipRegion, knownAccuracy, labeledAccuracy } from '../src/simulate/known-truth.js';
import { newTally } from '../src/simulate/traffic.js';
import { REPO_ROOT } from '../src/stack/paths.js';

const holdout = loadHoldoutFile();
const positive = holdout.class_labels.indexOf(holdout.positive_label);
const card = (v: string) => JSON.parse(readFileSync(path.join(REPO_ROOT, 'model/artifacts', v, 'model_card.json'), 'utf8')) as { holdout_metrics: { accuracy: number } };

describe('the truth the judgment scenarios print', () => {
  it.each(['v1', 'v2'])('a version known accuracy on the holdout is the one scikit-learn wrote in its card (%s)', (v) => {
    expect(knownAccuracy(holdout.rows, v)).toBe(card(v).holdout_metrics.accuracy);
  });

  it('is unknown for a version holdout.json does not know', () => {
    expect(knownAccuracy(holdout.rows, 'retrain-1')).toBeUndefined();
  });

  it('covariate shift: each row is drawn in proportion to its boundary weight', () => {
    const n = 20_000;
    // Evenly spaced draws instead of random ones: each row then comes up its expected number of times, to one.
    let i = 0;
    const drawn = boundaryResample(holdout.rows, 'v1', positive, n, () => (i++ + 0.5) / n);
    const weights = holdout.rows.map((r) => boundaryWeight(r.expected!.v1!.probabilities[positive]!));
    const total = weights.reduce((a, b) => a + b, 0);
    holdout.rows.forEach((row, k) => {
      expect(Math.abs(drawn.filter((d) => d === row).length - (n * weights[k]!) / total)).toBeLessThanOrEqual(1);
    });
    // Toward the boundary: the model is less sure and less right on them, and the labels are the true ones.
    const doubt = (rows: typeof drawn) => rows.reduce((s, r) => s + Math.abs(r.expected!.v1!.probabilities[positive]! - 0.5), 0) / rows.length;
    expect(doubt(drawn)).toBeLessThan(doubt(holdout.rows) - 0.1);
    expect(knownAccuracy(drawn, 'v1')).toBeLessThan(knownAccuracy(holdout.rows, 'v1')! - 0.03);
  });

  it('concept drift: the labels of the top share of a feature are flipped, nothing else changes', () => {
    const { rows, above } = flipRegion(holdout.rows, 'mean_texture', 0.3, holdout.class_labels);
    const flipped = rows.filter((r, k) => r.label !== holdout.rows[k]!.label);
    expect(flipped).toHaveLength(Math.ceil(0.3 * holdout.rows.length));
    expect(flipped.every((r) => r.features.mean_texture! >= above)).toBe(true);
    expect(rows.filter((r) => r.features.mean_texture! >= above)).toHaveLength(flipped.length);
    expect(rows.map((r) => r.features)).toEqual(holdout.rows.map((r) => r.features));
    // v1 is right on 98% of the region before, so on about 2% after: 0.98 * 0.7 + 0.02 * 0.3.
    expect(knownAccuracy(rows, 'v1')).toBeCloseTo(0.69, 1);
    expect(() => flipRegion(holdout.rows, 'radius', 0.3, holdout.class_labels)).toThrow('unknown feature "radius"');
    expect(() => flipRegion(holdout.rows, 'mean_texture', 1, holdout.class_labels)).toThrow('the share of flipped rows must be between 0 and 1, got 1');
  });

  it('the realized accuracy of a run counts only the answers that got ground truth', () => {
    const t = newTally();
    const answer = (label: string, trueLabel?: string) => ({ requestId: 'r', predictionId: 'p', replica: 'replica-1', label, score: 0.5, ...(trueLabel ? { trueLabel } : {}) });
    t.requests.push(answer('benign', 'benign'), answer('benign', 'malignant'), answer('malignant'), answer('malignant', 'malignant'));
    expect(labeledAccuracy(t)).toEqual({ labeled: 3, accuracy: 2 / 3 });
    expect(labeledAccuracy(newTally())).toEqual({ labeled: 0, accuracy: undefined });
  });
});
