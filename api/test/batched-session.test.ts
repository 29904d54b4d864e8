import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { BatchedSession } from '../src/models/batched-session.js';
import { modelCard } from '../src/models/card.js';
import { holdout, MODEL_ARTIFACTS_DIR } from './support.js';

const dir = path.join(MODEL_ARTIFACTS_DIR, 'v1');
const card = modelCard.parse(JSON.parse(readFileSync(path.join(dir, 'model_card.json'), 'utf8')));
const positive = card.class_labels.indexOf(card.positive_label);

/** The real session, with its runs counted and their sizes kept. */
async function countedSession() {
  const session = await ort.InferenceSession.create(path.join(dir, 'model.onnx'));
  const sizes: number[] = [];
  const run: ort.InferenceSession['run'] = (feeds: ort.InferenceSession.FeedsType) => {
    sizes.push(Object.values(feeds)[0]!.dims[0]!);
    return session.run(feeds);
  };
  return { session: { run } as unknown as ort.InferenceSession, sizes };
}

const expectMatches = (got: Array<{ label: string; probabilities: Record<string, number> }>, rows: typeof holdout.rows) =>
  got.forEach((p, i) => {
    const expected = rows[i]!.expected.v1!;
    expect(p.label).toBe(expected.label);
    holdout.class_labels.forEach((c, k) => expect(Math.abs(p.probabilities[c]! - expected.probabilities[k]!)).toBeLessThan(1e-5));
  });

describe('BatchedSession on the real ONNX model', () => {
  it('runs the requests of one turn together and gives each its own rows back', async () => {
    const { session, sizes } = await countedSession();
    const batched = new BatchedSession(session, card, positive);
    const requests = Array.from({ length: 40 }, (_, i) => holdout.rows.slice(i * 3, i * 3 + 1 + (i % 3)));
    const answers = await Promise.all(requests.map((rows) => batched.predict(rows.map((r) => r.features))));
    answers.forEach((a, i) => expectMatches(a, requests[i]!));
    expect(sizes).toEqual([requests.reduce((n, r) => n + r.length, 0)]);
  });

  it('keeps a run to maxRows rows without splitting a request, and a lone request is not held back', async () => {
    const { session, sizes } = await countedSession();
    const batched = new BatchedSession(session, card, positive, 8);
    const requests = [3, 4, 2, 10, 1].map((n, i) => holdout.rows.slice(i * 10, i * 10 + n));
    const answers = await Promise.all(requests.map((rows) => batched.predict(rows.map((r) => r.features))));
    answers.forEach((a, i) => expectMatches(a, requests[i]!));
    expect(sizes).toEqual([7, 2, 10, 1]);
    sizes.length = 0;
    expectMatches(await batched.predict([holdout.rows[0]!.features]), holdout.rows.slice(0, 1));
    expect(sizes).toEqual([1]);
  });

  it('waits while requests keep arriving, turn after turn, up to maxTurns', async () => {
    const { session, sizes } = await countedSession();
    const batched = new BatchedSession(session, card, positive, 512, 3);
    const answers: Array<Promise<unknown>> = [];
    const ask = (i: number) => answers.push(batched.predict([holdout.rows[i]!.features]));
    const nextTurn = () => new Promise((r) => setImmediate(r));
    // Two in the first turn, then one in each following turn: the batch waits while it grows,
    // for three turns at most, so the fifth request goes in a run of its own.
    ask(0);
    ask(1);
    for (const i of [2, 3, 4]) {
      await nextTurn();
      ask(i);
    }
    await Promise.all(answers);
    expect(sizes).toEqual([4, 1]);
  });

  it('rejects every request of a run that fails, and the next run works', async () => {
    const session = await ort.InferenceSession.create(path.join(dir, 'model.onnx'));
    // A card naming an input the model does not have makes onnxruntime refuse the run.
    const wrong = { ...card, input: { ...card.input, name: 'no_such_input' } };
    const failing = new BatchedSession(session, wrong, positive);
    const results = await Promise.allSettled([1, 2].map(() => failing.predict([holdout.rows[0]!.features])));
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expectMatches(await new BatchedSession(session, card, positive).predict([holdout.rows[0]!.features]), holdout.rows.slice(0, 1));
  });

  it('fails the requests of a run whose model answers something that is not a probability', async () => {
    const session = await ort.InferenceSession.create(path.join(dir, 'model.onnx'));
    const batched = new BatchedSession(session, card, positive);
    // NaN in makes NaN out of the real model; the route never lets NaN in, this is the guard behind it.
    const nan = { ...holdout.rows[0]!.features, [card.feature_names[0]!]: Number.NaN };
    await expect(batched.predict([nan])).rejects.toThrow(/outside \[0, 1\]/);
  });
});
