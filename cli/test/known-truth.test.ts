import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadHoldoutFile } from '../src/simulate/holdout.js';
import { mcnemarExactPValue } from '@mlmon/analyzer';
import { boundaryResample, boundaryWeight, flipRegion, knownAccuracy, labeledAccuracy, pairedExpectation } from '../src/simulate/known-truth.js';
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
    const answer = (label: string, trueLabel?: string) => ({ requestId: 'r', predictionId: 'p', replica: 'replica-1', version: 'v1', label, score: 0.5, row: holdout.rows[0]!, ...(trueLabel ? { trueLabel } : {}) });
    t.requests.push(answer('benign', 'benign'), answer('benign', 'malignant'), answer('malignant'), answer('malignant', 'malignant'));
    expect(labeledAccuracy(t)).toEqual({ labeled: 3, accuracy: 2 / 3 });
    expect(labeledAccuracy(newTally())).toEqual({ labeled: 0, accuracy: undefined });
  });

  it("a shadow's expected paired figures count both versions' known answers to the active version's labeled requests", () => {
    const t = newTally();
    const rows = holdout.rows;
    // Every holdout row twice, labeled once; a third pass answered by a canary is not copied, so not counted.
    for (const [k, row] of [...rows, ...rows].entries()) {
      t.requests.push({ requestId: `r${k}`, predictionId: `p${k}`, replica: 'replica-1', version: 'v1', label: row.expected!.v1!.label, score: 0.5, row, ...(k < rows.length ? { trueLabel: row.label } : {}) });
    }
    for (const row of rows) t.requests.push({ requestId: 'c', predictionId: 'c', replica: 'replica-1', version: 'v2', label: row.expected!.v2!.label, score: 0.5, row, trueLabel: row.label });
    const e = pairedExpectation(t, 'v1', 'v2');
    const right = (v: string) => rows.filter((r) => r.expected![v]!.label === r.label);
    const b = rows.filter((r) => r.expected!.v1!.label === r.label && r.expected!.v2!.label !== r.label).length;
    const c = rows.filter((r) => r.expected!.v1!.label !== r.label && r.expected!.v2!.label === r.label).length;
    expect(e).toEqual({
      pairs: 2 * rows.length,
      agreement: rows.filter((r) => r.expected!.v1!.label === r.expected!.v2!.label).length / rows.length,
      labeled_pairs: rows.length,
      active_accuracy: right('v1').length / rows.length,
      shadow_accuracy: right('v2').length / rows.length,
      active_only_correct: b,
      shadow_only_correct: c,
      mcnemar_p_value: mcnemarExactPValue(b, c),
    });
    // The committed versions on the holdout: v1 right on 4 rows v2 gets wrong, v2 on 1 the other way round.
    expect([b, c]).toEqual([4, 1]);
  });
});
