import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { modelCard } from '../src/models/card.js';
import { MODEL_ARTIFACTS_DIR, holdout } from './support.js';

/** The committed artifacts come from one training run; CI does not retrain, so this checks they still agree. */

const VERSIONS = ['v1', 'v2', 'broken'];
const read = (...p: string[]) => readFileSync(path.join(MODEL_ARTIFACTS_DIR, ...p));
const cards = Object.fromEntries(VERSIONS.map((v) => [v, modelCard.parse(JSON.parse(read(v, 'model_card.json').toString()))]));
const profile = JSON.parse(read('reference_profile.json').toString()) as {
  n: number;
  training_data_sha256: string;
  feature_names: string[];
  features: Record<string, { min: number; max: number; missing_rate: number; quantiles: Record<string, number>; histogram: { edges: number[]; counts: number[]; underflow: number; overflow: number } }>;
  class_balance: { counts: Record<string, number> };
  scores: Record<string, { histogram: { edges: number[]; counts: number[] } }>;
};
const featureNames = cards.v1!.feature_names;

describe('model artifacts agree with each other', () => {
  it.each(VERSIONS)('%s: card, ONNX file and holdout share the feature order, labels and checksum', async (version) => {
    const card = cards[version]!;
    expect(card.version).toBe(version);
    expect(card.feature_names).toEqual(featureNames);
    expect(card.class_labels).toEqual(holdout.class_labels);
    expect(card.positive_label).toBe(holdout.positive_label);
    expect((card as { onnx_sha256?: string }).onnx_sha256).toBe(createHash('sha256').update(read(version, 'model.onnx')).digest('hex'));
    expect((card as { training_data_sha256?: string }).training_data_sha256).toBe(profile.training_data_sha256);

    const session = await ort.InferenceSession.create(path.join(MODEL_ARTIFACTS_DIR, version, 'model.onnx'));
    expect(session.inputNames).toEqual([card.input.name]);
    expect(session.outputNames).toEqual(['label', 'probabilities']);
    // Feeding a tensor of the card's width is what proves the count: a wrong width fails to run.
    const out = await session.run({ [card.input.name]: new ort.Tensor('float32', new Float32Array(featureNames.length), [1, featureNames.length]) });
    expect(out.probabilities!.dims).toEqual([1, card.class_labels.length]);
    await expect(session.run({ [card.input.name]: new ort.Tensor('float32', new Float32Array(featureNames.length - 1), [1, featureNames.length - 1]) })).rejects.toThrow();
  });

  it('profiles every feature, in input order, with histograms that add up to the training rows', () => {
    expect(profile.feature_names).toEqual(featureNames);
    expect(Object.keys(profile.features).sort()).toEqual([...featureNames].sort());
    for (const name of featureNames) {
      const f = profile.features[name]!;
      const h = f.histogram;
      expect(h.edges.length, name).toBe(h.counts.length + 1);
      expect(h.counts.reduce((a, b) => a + b, 0) + h.underflow + h.overflow, name).toBe(profile.n);
      expect(f.min, name).toBeLessThanOrEqual(f.quantiles.p50!);
      expect(f.quantiles.p50!, name).toBeLessThanOrEqual(f.max);
      expect(f.missing_rate, name).toBe(0);
    }
    const classes = profile.class_balance.counts;
    expect(Object.keys(classes).sort()).toEqual([...holdout.class_labels].sort());
    expect(Object.values(classes).reduce((a, b) => a + b, 0)).toBe(profile.n);
    for (const v of VERSIONS) expect(profile.scores[v]!.histogram.counts.reduce((a, b) => a + b, 0)).toBe(profile.n);
  });

  it('holds a holdout row for every feature and every version', () => {
    expect(holdout.feature_names).toEqual(featureNames);
    expect(holdout.rows.length).toBeGreaterThan(100);
    for (const row of holdout.rows) {
      expect(Object.keys(row.features)).toEqual(featureNames);
      expect(Object.keys(row.expected).sort()).toEqual([...VERSIONS].sort());
    }
  });
});
