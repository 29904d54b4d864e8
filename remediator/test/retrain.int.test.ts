import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { v7 as uuidv7 } from 'uuid';
import { setupTemplates, type EventOf } from '@mlmon/contract';
import { sampleEvents } from '@mlmon/contract/testing';
import { testCluster } from '@mlmon/elasticsearch/testing';
import { TEST_ADMIN_TOKEN, MODEL_ARTIFACTS_DIR, REPO_ROOT, holdout, startReplicaProcess, type ReplicaProcess } from '@mlmon/api/testing';
import { Joiner, StateFile, loadAnalyzerConfig, loadReference } from '@mlmon/analyzer';
import { writeEvents } from '@mlmon/runtime';
import { bootstrappedPython } from '@mlmon/runtime/testing';
import { trainingPython } from '../src/retrain/python.js';
import { alert, events, hook, remediatorFor, tempDir } from './support.js';

/**
 * The retrain job end to end on real parts: labeled production data in the
 * real Elasticsearch (predictions and feedback, joined by the analyzer's own
 * join as the running analyzer does), model/train.py in the pinned venv, a
 * real replica that loads the new version when it is registered as the canary.
 */
const PYTHON = path.join(REPO_ROOT, 'model/.venv/bin/python');
const HOUR = 3_600_000;
const featureNames = holdout.feature_names;

/** The training split of train.py (same dataset, seed and split): production traffic that looks like training. */
function trainingRows(): Array<{ features: Record<string, number>; label: string }> {
  const script = `
import json
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split
d = load_breast_cancer()
x_train, _, y_train, _ = train_test_split(d.data, d.target, test_size=0.2, stratify=d.target, random_state=42)
print(json.dumps({"x": x_train.tolist(), "y": y_train.tolist()}))`;
  const { x, y } = JSON.parse(execFileSync(PYTHON, ['-c', script], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })) as { x: number[][]; y: number[] };
  return x.map((row, i) => ({ features: Object.fromEntries(featureNames.map((f, j) => [f, row[j]!])), label: holdout.class_labels[y[i]!]! }));
}

/** Predictions for `rows` and feedback for the first `labeled` of them, the newest feedback first in time order reversed. */
function traffic(rows: ReturnType<typeof trainingRows>, o: { labeled: number; invert?: boolean; at: number }) {
  const sample = sampleEvents();
  const out: unknown[] = [];
  const ids: string[] = [];
  rows.forEach((row, i) => {
    const t = o.at - i * 1000;
    const id = uuidv7({ msecs: t });
    ids.push(id);
    const p = structuredClone(sample['mlmon.prediction']) as EventOf<'mlmon.prediction'>;
    p['@timestamp'] = new Date(t).toISOString();
    p.mlmon.prediction = { id, label: row.label, score: 0.5, features: row.features };
    out.push(p);
    if (i < o.labeled) {
      const f = structuredClone(sample['mlmon.feedback']) as EventOf<'mlmon.feedback'>;
      f['@timestamp'] = new Date(t + 500).toISOString();
      const label = o.invert ? holdout.class_labels.find((l) => l !== row.label)! : row.label;
      f.mlmon = { prediction: { id }, feedback: { true_label: label, delay_ms: 500 } };
      out.push(f);
    }
  });
  return { events: out, ids };
}

const clusters = [testCluster(), testCluster()];
const [good, bad] = clusters as [ReturnType<typeof testCluster>, ReturnType<typeof testCluster>];
const outDir = path.join(tempDir('retrained'), 'models');
let replica: ReplicaProcess;
let rows: ReturnType<typeof trainingRows>;
/** When the good traffic's newest prediction was made; feedback for row i came at `trafficAt - i * 1000 + 500`. */
let trafficAt: number;

beforeAll(async () => {
  // The environment the job itself makes on first use (pip from PyPI: minutes on a fresh machine), which the
  // test run's bootstrap makes in the background: wait for it rather than make a second one beside it.
  await bootstrappedPython(REPO_ROOT);
  await trainingPython({ configured: undefined, modelDir: path.join(REPO_ROOT, 'model'), progress: (m) => console.log(m) });
  rows = trainingRows();
  const now = Date.now();
  for (const c of clusters) await setupTemplates(c.client, { prefix: c.prefix });
  // Good data: 455 predictions, 400 labeled in the last hours; noise the join must drop.
  trafficAt = now - HOUR;
  const g = traffic(rows, { labeled: 400, at: trafficAt });
  const noise = sampleEvents()['mlmon.feedback'];
  const orphan = { ...noise, '@timestamp': new Date(now - HOUR).toISOString(), mlmon: { prediction: { id: uuidv7() }, feedback: { true_label: 'benign', delay_ms: 1 } } };
  // An older, wrong label for the newest prediction: the newer feedback must win.
  const corrected = { ...noise, '@timestamp': new Date(now - 2 * HOUR).toISOString(), mlmon: { prediction: { id: g.ids[0]! }, feedback: { true_label: rows[0]!.label === 'benign' ? 'malignant' : 'benign', delay_ms: 1 } } };
  const indexed = await writeEvents(good.client, { prefix: good.prefix, events: [...g.events, orphan, corrected], refresh: true });
  expect(indexed.failed).toEqual([]);
  // Bad data: the same traffic with every label inverted.
  const b = traffic(rows, { labeled: 400, invert: true, at: now - HOUR });
  expect((await writeEvents(bad.client, { prefix: bad.prefix, events: b.events, refresh: true })).failed).toEqual([]);
  // The analyzer's join: 400 predictions labeled (the newer of the two feedbacks on one of them), one orphan.
  const { positiveLabel } = loadReference(loadAnalyzerConfig({}).MLMON_ANALYZER_REFERENCE_PROFILE);
  const joined = await new Joiner(good.client, good.prefix, positiveLabel, new StateFile(undefined)).run();
  expect(joined).toEqual({ feedbackRead: 402, joined: 401, orphaned: 1, superseded: 1, shadows: 0, shadowsPending: 0 });
  expect((await new Joiner(bad.client, bad.prefix, positiveLabel, new StateFile(undefined)).run()).joined).toBe(400);
  replica = await startReplicaProcess({ MLMON_API_MODEL_STATE_FILE: path.join(tempDir('retrain-state'), 'state.json'), MLMON_API_RETRAINED_MODEL_DIR: outDir });
}, 900_000);

afterAll(async () => {
  replica?.child.kill('SIGTERM');
  await replica?.exited;
  for (const c of clusters) await c.cleanup();
});

const workDir = tempDir('retrain-work');
const retrainer = (cluster: typeof good, extra: Record<string, string> = {}) =>
  remediatorFor({
    MLMON_ES_URL: cluster.url,
    MLMON_INDEX_PREFIX: cluster.prefix,
    MLMON_API_URL: replica.url,
    MLMON_API_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    MLMON_RETRAIN_OUTPUT_DIR: outDir,
    MLMON_RETRAIN_WORK_DIR: workDir,
    MLMON_RETRAIN_PYTHON: PYTHON,
    MLMON_RETRAIN_MAX_ROWS: '300',
    // No cooldown, so that a second retrain alert meets the running job rather than the cooldown.
    MLMON_REMEDIATOR_COOLDOWN: '0s',
    ...extra,
  });

interface Card {
  algorithm: string;
  hyperparameters: Record<string, unknown>;
  training_data_sha256: string;
  holdout_metrics: { accuracy: number };
  training_data: { rows: number; window: { start: string; end: string } };
  lineage: { parent_version: string; job_id: string; alert: { execution_id: string } };
}

describe('retrain', () => {
  it('trains on the newest labeled rows (capped), writes the card with lineage, and registers a canary no worse than the active version', async () => {
    const r = await retrainer(good);
    try {
      const call = alert({ watch_id: 'feature-drift' });
      const calledAt = Date.now();
      const started = await hook(r.url, 'retrain', call);
      expect(started.status).toBe(202);
      expect(started.body).toMatchObject({ decision: 'started', action: 'retrain' });
      const jobId = started.body.job_id!;
      expect((await hook(r.url, 'retrain', call)).body.decision).toBe('duplicate');
      expect((await hook(r.url, 'retrain', alert())).body).toMatchObject({ decision: 'refused', reason: 'retrain_running' });
      await r.retrain!.last;
      const doneAt = Date.now();

      const stages = events(r.logDir, 'mlmon.remediation').filter((e) => e.mlmon.remediation.job_id === jobId);
      expect(stages.map((e) => e.mlmon.remediation.decision), JSON.stringify(stages.map((e) => e.message))).toEqual(['started', 'finished', 'registered']);
      expect(stages.every((e) => e.mlmon.remediation.execution_id === call.execution_id)).toBe(true);

      const card = JSON.parse(readFileSync(path.join(outDir, jobId, 'model_card.json'), 'utf8')) as Card;
      // The cap is on labels read (300); the orphan feedback, one of the newest, has no prediction and is no label.
      expect(card.training_data.rows).toBe(300);
      expect(card.lineage).toMatchObject({ parent_version: 'v1', job_id: jobId, alert: { execution_id: call.execution_id } });
      // The hash covers exactly the rows the job pulled: recomputed here from its data file, as the card's method says.
      const data = JSON.parse(readFileSync(path.join(workDir, jobId, 'data.json'), 'utf8')) as { rows: typeof rows; lineage: { window: Card['training_data']['window'] } };
      const x = Buffer.alloc(data.rows.length * featureNames.length * 8);
      data.rows.forEach((row, i) => featureNames.forEach((f, j) => x.writeDoubleLE(row.features[f]!, (i * featureNames.length + j) * 8)));
      const y = Buffer.alloc(data.rows.length * 8);
      data.rows.forEach((row, i) => y.writeBigInt64LE(BigInt(holdout.class_labels.indexOf(row.label)), i * 8));
      expect(card.training_data_sha256).toBe(createHash('sha256').update(x).update(y).digest('hex'));
      // The newest labels, the corrected one included with its newer label; the older ones left out.
      const byFeatures = new Map(rows.map((row, i) => [JSON.stringify(row.features), i]));
      const taken = data.rows.map((row) => byFeatures.get(JSON.stringify(row.features))!);
      expect(taken.sort((a, b) => a - b)).toEqual(Array.from({ length: 300 }, (_, i) => i));
      expect(data.rows.find((row) => JSON.stringify(row.features) === JSON.stringify(rows[0]!.features))!.label).toBe(rows[0]!.label);

      // The window is the one the job searched: MLMON_RETRAIN_WINDOW (24h) up to when it started, holding every label it took.
      const { window } = card.training_data;
      expect(window).toEqual(data.lineage.window);
      const [start, end] = [Date.parse(window.start), Date.parse(window.end)];
      expect(end).toBeGreaterThanOrEqual(calledAt);
      expect(end).toBeLessThanOrEqual(doneAt);
      expect(end - start).toBe(24 * HOUR);
      for (const i of taken) expect(trafficAt - i * 1000 + 500).toBeGreaterThanOrEqual(start);
      expect(stages[1]!.message).toContain(`from ${window.start} to ${window.end}`);
      // The parent's recipe (v1: scaler + logistic regression), retrained: its card names the same algorithm and hyperparameters.
      const parent = JSON.parse(readFileSync(path.join(MODEL_ARTIFACTS_DIR, 'v1', 'model_card.json'), 'utf8')) as Card;
      expect(card.algorithm).toBe(parent.algorithm);
      expect(card.hyperparameters).toEqual(parent.hyperparameters);
      expect(card.hyperparameters).toMatchObject({ logistic_regression: { C: 1, solver: 'lbfgs' } });

      // Registered: the replica loaded the new version and serves it as a 10% canary.
      const models = (await (await fetch(`${replica.url}/v1/models`)).json()) as { canary: { version: string; weight: number } | null };
      expect(models.canary).toEqual({ version: jobId, weight: 10 });
      // The card's holdout accuracy is what the served ONNX model gets on the holdout rows.
      const answers: Array<{ label: string }> = [];
      // In batches under the replica's MLMON_API_MAX_BATCH.
      for (let i = 0; i < holdout.rows.length; i += 50) {
        const res = await fetch(`${replica.url}/v1/predict`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ instances: holdout.rows.slice(i, i + 50).map((h) => h.features), model_version: jobId }),
        });
        answers.push(...((await res.json()) as { predictions: Array<{ label: string }> }).predictions);
      }
      const correct = answers.filter((a, i) => a.label === holdout.rows[i]!.label).length;
      expect(card.holdout_metrics.accuracy).toBeCloseTo(correct / holdout.rows.length, 12);
      expect(existsSync(path.join(outDir, `.${jobId}.partial`))).toBe(false);
    } finally {
      await r.close();
    }
  }, 180_000);

  it('refuses to register a version worse than the active one, and says so', async () => {
    const before = (await (await fetch(`${replica.url}/v1/models`)).json()) as { canary: unknown };
    const r = await retrainer(bad);
    try {
      const started = await hook(r.url, 'retrain', alert());
      const jobId = started.body.job_id!;
      await r.retrain!.last;
      const stages = events(r.logDir, 'mlmon.remediation').filter((e) => e.mlmon.remediation.job_id === jobId);
      expect(stages.map((e) => [e.mlmon.remediation.decision, e.mlmon.remediation.reason])).toEqual([
        ['started', undefined],
        ['finished', undefined],
        ['refused', 'worse_than_active'],
      ]);
      expect(((await (await fetch(`${replica.url}/v1/models`)).json()) as { canary: unknown }).canary).toEqual(before.canary);
    } finally {
      await r.close();
    }
  }, 180_000);

  it('refuses to train on too few labeled rows', async () => {
    const r = await retrainer(good, { MLMON_RETRAIN_MIN_ROWS: '1000', MLMON_RETRAIN_MAX_ROWS: '2000' });
    try {
      const jobId = (await hook(r.url, 'retrain', alert())).body.job_id!;
      await r.retrain!.last;
      const last = events(r.logDir, 'mlmon.remediation').filter((e) => e.mlmon.remediation.job_id === jobId).at(-1)!;
      expect(last.mlmon.remediation).toMatchObject({ decision: 'refused', reason: 'not_enough_data' });
      // 400 labeled predictions and one correction; the orphan has no prediction.
      expect(last.mlmon.remediation.detail).toMatch(/^400 usable labeled rows/);
    } finally {
      await r.close();
    }
  });
});
