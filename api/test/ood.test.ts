import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOodScorer } from '../src/models/ood.js';
import { createReplica, type Replica } from '../src/replica.js';
import { MODEL_ARTIFACTS_DIR, ofDataset, readEvents, tempDir, testConfig } from './support.js';

/**
 * The replica's out-of-distribution score against scikit-learn: the fixture
 * (model/make_ood_fixture.py) holds a reference.json fitted with sklearn's
 * StandardScaler and PCA(0.65) on the training rows, and sklearn's
 * reconstruction error of every holdout row and of shifted copies.
 */
interface Fixture {
  reference: { feature_names: string[]; reconstruction: Record<string, unknown> } & Record<string, unknown>;
  threshold: number;
  rows: Array<{ features: Record<string, number>; error: number }>;
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/ood-fixture.json', import.meta.url), 'utf8')) as Fixture;
const HOLDOUT_ROWS = 114;

/** v1 with the fixture's reference.json, v2 without one. */
function modelDir(reference: unknown = fixture.reference): string {
  const dir = tempDir('ood-models');
  for (const v of ['v1', 'v2']) {
    mkdirSync(path.join(dir, v));
    for (const f of ['model.onnx', 'model_card.json']) copyFileSync(path.join(MODEL_ARTIFACTS_DIR, v, f), path.join(dir, v, f));
  }
  writeFileSync(path.join(dir, 'v1', 'reference.json'), JSON.stringify(reference));
  return dir;
}

async function predictAll(replica: Replica, rows: Array<Record<string, number>>, version = 'v1'): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < rows.length; i += 50) {
    const res = await replica.app.request('/v1/predict', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model_version: version, instances: rows.slice(i, i + 50) }),
    });
    expect(res.status).toBe(200);
    ids.push(...((await res.json()) as { predictions: Array<{ prediction_id: string }> }).predictions.map((p) => p.prediction_id));
  }
  return ids;
}

const loggedPredictions = (logDir: string) => new Map(ofDataset(readEvents(logDir), 'mlmon.prediction').map((e) => [e.mlmon.prediction.id, e]));

describe('the OOD score of every prediction', () => {
  let replica: Replica;
  let logDir: string;
  beforeAll(async () => {
    // Coarsened in the log: the score must still come from the values the model saw.
    const config = testConfig({ MLMON_API_MODEL_DIR: modelDir(), MLMON_API_LOG_COARSEN_FEATURES: 'mean_area:500,worst_area:500' });
    logDir = config.MLMON_LOG_DIR;
    replica = await createReplica(config);
  });
  afterAll(() => replica.close());

  it('equals scikit-learn reconstruction error within 1e-9, flagged above the 99th percentile of the training errors', async () => {
    const ids = await predictAll(replica, fixture.rows.map((r) => r.features));
    const logged = loggedPredictions(logDir);
    let worst = 0;
    ids.forEach((id, i) => {
      const ood = logged.get(id)!.mlmon.prediction.ood!;
      const expected = fixture.rows[i]!.error;
      worst = Math.max(worst, Math.abs(ood.score - expected) / expected);
      expect(ood.threshold).toBe(fixture.threshold);
      expect(ood.flag).toBe(expected > fixture.threshold);
    });
    expect(worst).toBeLessThan(1e-9);
    // The figures of design-21.md: mean error of the holdout 2.470; the fixture's shifted rows score higher.
    const scores = ids.map((id) => logged.get(id)!.mlmon.prediction.ood!.score);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(scores.slice(0, HOLDOUT_ROWS))).toBeCloseTo(2.470, 3);
    expect(mean(scores.slice(HOLDOUT_ROWS))).toBeGreaterThan(3.5);
    expect(logged.get(ids[0]!)!.mlmon.prediction.features.mean_area! % 500).toBe(0);
  });

  it('a version without reference.json logs no OOD fields, and the replica said so once at load', async () => {
    const ids = await predictAll(replica, fixture.rows.slice(0, 60).map((r) => r.features), 'v2');
    const logged = loggedPredictions(logDir);
    for (const id of ids) expect(logged.get(id)!.mlmon.prediction).not.toHaveProperty('ood');
    const said = ofDataset(readEvents(logDir), 'mlmon.app').filter((e) => e.message.includes('reference.json'));
    expect(said.map((e) => [e.log.level, e.message])).toEqual([
      ['warn', 'model breast-cancer-classifier v2 has no reference.json: its predictions carry no out-of-distribution score'],
    ]);
  });
});

it('MLMON_API_OOD_SCORE=false logs no OOD fields', async () => {
  const config = testConfig({ MLMON_API_MODEL_DIR: modelDir(), MLMON_API_OOD_SCORE: 'false' });
  const replica = await createReplica(config);
  try {
    const ids = await predictAll(replica, fixture.rows.slice(0, 10).map((r) => r.features));
    const logged = loggedPredictions(config.MLMON_LOG_DIR);
    for (const id of ids) expect(logged.get(id)!.mlmon.prediction).not.toHaveProperty('ood');
  } finally {
    await replica.close();
  }
});

describe('a reference that does not fit its model stops the load, naming what is wrong', () => {
  const names = fixture.reference.feature_names;
  it('feature names in another order', () => {
    const dir = modelDir({ ...fixture.reference, feature_names: [names[1], names[0], ...names.slice(2)] });
    expect(() => loadOodScorer(path.join(dir, 'v1'), names)).toThrow("reference.json: feature_names differ from the model card's");
  });
  it('a scale of zero', () => {
    const scale = [0, ...(fixture.reference.reconstruction.scaler_scale as number[]).slice(1)];
    const dir = modelDir({ ...fixture.reference, reconstruction: { ...fixture.reference.reconstruction, scaler_scale: scale } });
    expect(() => loadOodScorer(path.join(dir, 'v1'), names)).toThrow('reference.json: reconstruction.scaler_scale.0: Too small: expected number to be >0');
  });
});
