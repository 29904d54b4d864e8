import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitUntil } from '@mlmon/runtime';
import { createReplica, type Replica } from '../src/replica.js';
import { MODEL_ARTIFACTS_DIR, TEST_ADMIN_TOKEN, holdout, ofDataset, readEvents, tempDir, testConfig } from './support.js';

const stateDir = tempDir('shadow-state');
const stateFile = path.join(stateDir, 'serving.json');
let a: Replica;
let b: Replica;
let logDir: string;

beforeAll(async () => {
  const config = testConfig({ MLMON_API_REPLICA_ID: 'replica-a', MLMON_API_MODEL_STATE_FILE: stateFile, MLMON_API_MAX_BATCH: '64' });
  logDir = config.MLMON_LOG_DIR;
  a = await createReplica(config);
  b = await createReplica(testConfig({ MLMON_API_REPLICA_ID: 'replica-b', MLMON_API_MODEL_STATE_FILE: stateFile }));
});
afterAll(async () => {
  await a.close();
  await b.close();
  rmSync(stateDir, { recursive: true, force: true });
});

const call = (r: Replica, method: string, p: string, body?: unknown) =>
  r.app.request(p, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_ADMIN_TOKEN}` },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
const json = async <T>(res: Response | Promise<Response>) => (await (await res).json()) as T;
const errorCode = async (res: Response | Promise<Response>) => (await json<{ error: { code: string; field?: string } }>(res)).error;

interface Answer {
  prediction_id: string;
  model: { version: string };
  label: string;
  probability: number;
}

const predictions = (dir: string) => ofDataset(readEvents(dir), 'mlmon.prediction');

describe('PUT /admin/models/shadow', () => {
  it('refuses a bad sample, an unknown version and the active version', async () => {
    expect(await errorCode(call(a, 'PUT', '/admin/models/shadow', { version: 'v2', sample: 1.5 }))).toMatchObject({ code: 'invalid_sample', field: 'sample' });
    expect(await errorCode(call(a, 'PUT', '/admin/models/shadow', { version: 'v2', sample: '1' }))).toMatchObject({ code: 'invalid_sample' });
    expect((await call(a, 'PUT', '/admin/models/shadow', { version: 'v9', sample: 1 })).status).toBe(404);
    const active = await call(a, 'PUT', '/admin/models/shadow', { version: 'v1', sample: 1 });
    expect(active.status).toBe(409);
    expect(await errorCode(active)).toMatchObject({ code: 'canary_is_active', field: 'version' });
    expect((await a.app.request('/admin/models/shadow', { method: 'PUT', body: JSON.stringify({ version: 'v2' }) })).status).toBe(401);
  });

  it('sets the shadow on every replica through the shared state, and removes it with sample 0 or DELETE', async () => {
    expect(await json(call(a, 'PUT', '/admin/models/shadow', { version: 'v2', sample: 0.5 }))).toMatchObject({ active: 'v1', canary: null, shadow: { version: 'v2', sample: 0.5 } });
    await expect.poll(async () => (await json<{ shadow: unknown }>(call(b, 'GET', '/v1/models'))).shadow, { timeout: 5000 }).toEqual({ version: 'v2', sample: 0.5 });
    expect(await json(call(a, 'PUT', '/admin/models/shadow', { version: 'v2', sample: 0 }))).toMatchObject({ shadow: null });
    await call(a, 'PUT', '/admin/models/shadow', { version: 'v2' });
    expect((await json<{ shadow: unknown }>(call(a, 'GET', '/v1/models'))).shadow).toEqual({ version: 'v2', sample: 1 });
    expect(await json(call(a, 'DELETE', '/admin/models/shadow'))).toMatchObject({ shadow: null });
    await expect.poll(async () => (await json<{ shadow: unknown }>(call(b, 'GET', '/v1/models'))).shadow, { timeout: 5000 }).toBeNull();
  });
});

describe('a shadow copy of each sampled request', () => {
  it('answers the client with the active version and logs the shadow prediction beside it, paired', async () => {
    await call(a, 'PUT', '/admin/models/shadow', { version: 'v2', sample: 1 });
    const rows = holdout.rows.slice(0, 40);
    const answers: Answer[] = [];
    for (const [i, row] of rows.entries()) {
      const res = await a.app.request('/v1/predict', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': `shadow-req-${i}` },
        body: JSON.stringify({ features: row.features }),
      });
      answers.push(await json<Answer>(res));
    }
    // The client sees v1's answer and nothing of v2's.
    answers.forEach((answer, i) => {
      expect(answer.model.version).toBe('v1');
      expect(answer.label).toBe(rows[i]!.expected.v1!.label);
    });
    const shadowLines = await waitUntil(
      () => {
        const s = predictions(logDir).filter((e) => e.mlmon.model.role === 'shadow');
        return s.length >= rows.length && s;
      },
      { timeoutMs: 10_000, what: 'a shadow line per request' },
    );
    const byId = new Map(predictions(logDir).map((e) => [e.mlmon.prediction.id, e]));
    const positive = holdout.class_labels.indexOf(holdout.positive_label);
    answers.forEach((answer, i) => {
      const active = byId.get(answer.prediction_id)!;
      expect(active.mlmon.model).toMatchObject({ version: 'v1', role: 'active' });
      const shadow = byId.get(active.mlmon.prediction.shadow_id!)!;
      expect(shadow, 'the active line names its copy').toBeDefined();
      expect(shadow.mlmon.model).toMatchObject({ version: 'v2', role: 'shadow' });
      expect(shadow.http.request.id).toBe(`shadow-req-${i}`);
      expect(shadow.mlmon.prediction.features).toEqual(active.mlmon.prediction.features);
      // v2's own answer, as training scored it.
      expect(shadow.mlmon.prediction.label).toBe(rows[i]!.expected.v2!.label);
      expect(shadow.mlmon.prediction.score).toBeCloseTo(rows[i]!.expected.v2!.probabilities[positive]!, 5);
      expect(shadow.mlmon.shadow).toEqual({
        active: { prediction_id: answer.prediction_id, version: 'v1', label: answer.label, score: answer.probability, duration_ns: active.event.duration },
        agree: rows[i]!.expected.v1!.label === rows[i]!.expected.v2!.label,
        score_diff: shadow.mlmon.prediction.score - answer.probability,
        latency_diff_ns: shadow.event.duration - active.event.duration,
      });
    });
    expect(shadowLines).toHaveLength(rows.length);
  });

  it('copies every row of a batch request, each paired with its own active answer', async () => {
    const rows = holdout.rows.slice(40, 72);
    const res = await a.app.request('/v1/predict', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'shadow-batch' },
      body: JSON.stringify({ instances: rows.map((r) => r.features) }),
    });
    const { predictions: answers } = await json<{ predictions: Answer[] }>(res);
    const copies = await waitUntil(
      () => {
        const s = predictions(logDir).filter((e) => e.mlmon.model.role === 'shadow' && e.http.request.id === 'shadow-batch');
        return s.length === rows.length && s;
      },
      { timeoutMs: 10_000, what: 'the batch copies' },
    );
    const byActive = new Map(copies.map((e) => [e.mlmon.shadow!.active.prediction_id, e]));
    answers.forEach((answer, i) => {
      const copy = byActive.get(answer.prediction_id)!;
      expect(copy.mlmon.prediction.label).toBe(rows[i]!.expected.v2!.label);
      expect(copy.mlmon.prediction.batch?.size).toBe(rows.length);
    });
  });

  it('copies only its sample share of the requests, and none of those a canary or a pinned version answers', async () => {
    await call(a, 'PUT', '/admin/models/shadow', { version: 'v2', sample: 0.3 });
    await call(a, 'PUT', '/admin/models/canary', { version: 'broken', weight: 20 });
    const features = holdout.rows[0]!.features;
    for (let i = 0; i < 400; i++) {
      await a.app.request('/v1/predict', { method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': `sample-${i}` }, body: JSON.stringify({ features }) });
    }
    await a.app.request('/v1/predict', { method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': 'pinned' }, body: JSON.stringify({ features, model_version: 'v2' }) });
    await call(a, 'PUT', '/admin/models/canary', { version: 'broken', weight: 0 });
    const sampled = (e: ReturnType<typeof predictions>[number]) => e.http.request.id.startsWith('sample-') || e.http.request.id === 'pinned';
    // Every active line that names a copy gets it.
    const named = await waitUntil(
      () => {
        const lines = predictions(logDir).filter(sampled);
        const ids = lines.filter((e) => e.mlmon.prediction.shadow_id).map((e) => e.mlmon.prediction.shadow_id);
        const copies = new Set(lines.filter((e) => e.mlmon.model.role === 'shadow').map((e) => e.mlmon.prediction.id));
        return ids.every((id) => copies.has(id!)) && lines;
      },
      { timeoutMs: 10_000, what: 'the copies of the sampled requests' },
    );
    const roleOf = new Map(named.filter((e) => e.mlmon.model.role !== 'shadow').map((e) => [e.http.request.id, e.mlmon.model.role]));
    const copied = named.filter((e) => e.mlmon.model.role === 'shadow');
    expect(copied.every((e) => roleOf.get(e.http.request.id) === 'active')).toBe(true);
    expect(roleOf.get('pinned')).toBe('pinned');
    const activeCount = [...roleOf.values()].filter((r) => r === 'active').length;
    // 30% of the ~320 requests v1 answered: binomial sd ~8; ±5 sd.
    expect(activeCount).toBeGreaterThan(250);
    expect(copied.length).toBeGreaterThan(activeCount * 0.3 - 42);
    expect(copied.length).toBeLessThan(activeCount * 0.3 + 42);
  });

  it('promotes the shadow to canary in one change, once, and never over a serving canary', async () => {
    await call(a, 'PUT', '/admin/models/shadow', { version: 'v2', sample: 1 });
    await call(a, 'PUT', '/admin/models/canary', { version: 'broken', weight: 5 });
    const busy = await call(a, 'POST', '/admin/models/shadow/promote', { version: 'v2', weight: 10 });
    expect(busy.status).toBe(409);
    expect(await errorCode(busy)).toMatchObject({ code: 'canary_present' });
    await call(a, 'PUT', '/admin/models/canary', { version: 'broken', weight: 0 });
    expect(await errorCode(call(a, 'POST', '/admin/models/shadow/promote', { version: 'v2', weight: 0 }))).toMatchObject({ code: 'invalid_weight', field: 'weight' });
    expect(await json(call(a, 'POST', '/admin/models/shadow/promote', { version: 'v2', weight: 10 }))).toMatchObject({ active: 'v1', canary: { version: 'v2', weight: 10 }, shadow: null });
    await expect.poll(async () => (await json<{ canary: unknown; shadow: unknown }>(call(b, 'GET', '/v1/models'))), { timeout: 5000 }).toMatchObject({ canary: { version: 'v2', weight: 10 }, shadow: null });
    // The same alert again: v2 is no longer the shadow.
    const again = await call(a, 'POST', '/admin/models/shadow/promote', { version: 'v2', weight: 10 });
    expect(again.status).toBe(409);
    expect(await errorCode(again)).toMatchObject({ code: 'not_shadow' });
    await call(a, 'PUT', '/admin/models/canary', { version: 'v2', weight: 0 });
  });

  it('clears the shadow when its version becomes the active one', async () => {
    await call(a, 'PUT', '/admin/models/shadow', { version: 'v2', sample: 1 });
    expect(await json(call(a, 'PUT', '/admin/models/active', { version: 'v2' }))).toMatchObject({ active: 'v2', shadow: null });
    await call(a, 'PUT', '/admin/models/active', { version: 'v1' });
  });
});

describe('a shadow that fails or has no room', () => {
  let dir: string;
  let r: Replica;
  let rLogs: string;
  beforeAll(async () => {
    // A version trained on other features: it refuses every row the active version accepts.
    dir = tempDir('shadow-models');
    for (const v of ['v1', 'v2']) cpSync(path.join(MODEL_ARTIFACTS_DIR, v), path.join(dir, v), { recursive: true });
    mkdirSync(path.join(dir, 'other-features'));
    cpSync(path.join(MODEL_ARTIFACTS_DIR, 'v1', 'model.onnx'), path.join(dir, 'other-features', 'model.onnx'));
    const card = JSON.parse(readFileSync(path.join(MODEL_ARTIFACTS_DIR, 'v1', 'model_card.json'), 'utf8')) as { version: string; feature_names: string[] };
    card.version = 'other-features';
    card.feature_names = card.feature_names.map((f, i) => (i === 0 ? 'mean_radius_mm' : f));
    writeFileSync(path.join(dir, 'other-features', 'model_card.json'), JSON.stringify(card));
    const config = testConfig({ MLMON_API_REPLICA_ID: 'replica-f', MLMON_API_MODEL_DIR: dir, MLMON_API_RESOURCE_INTERVAL: '200ms', MLMON_API_SHADOW_QUEUE_SIZE: '4' });
    rLogs = config.MLMON_LOG_DIR;
    r = await createReplica(config);
  });
  afterAll(async () => {
    await r.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers every request as before while each copy fails, and says so in the log and the resource samples', async () => {
    await call(r, 'PUT', '/admin/models/shadow', { version: 'other-features', sample: 1 });
    const features = holdout.rows[3]!.features;
    for (let i = 0; i < 20; i++) {
      const res = await r.app.request('/v1/predict', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ features }) });
      expect(res.status).toBe(200);
      expect((await json<Answer>(res)).label).toBe(holdout.rows[3]!.expected.v1!.label);
    }
    const sample = await waitUntil(
      () => ofDataset(readEvents(rLogs), 'mlmon.resource').find((e) => (e.mlmon.resource.shadow?.errors ?? 0) >= 20)?.mlmon.resource.shadow,
      { timeoutMs: 10_000, what: 'a resource sample counting the failed copies' },
    );
    expect(sample).toMatchObject({ errors: 20, completed: 0, dropped: 0, timeouts: 0 });
    const warn = ofDataset(readEvents(rLogs), 'mlmon.app').find((e) => e.error?.code === 'shadow_failed');
    expect(warn?.message).toContain('shadow other-features refuses the active version');
    expect(predictions(rLogs).filter((e) => e.mlmon.model.role === 'shadow')).toEqual([]);
  });

  it('drops the copies that find the queue full and answers every request', async () => {
    await call(r, 'PUT', '/admin/models/shadow', { version: 'v2', sample: 1 });
    const before = ofDataset(readEvents(rLogs), 'mlmon.resource').at(-1)?.mlmon.resource.shadow;
    // Sixty requests in one turn: the queue holds four copies, the rest are dropped.
    const features = holdout.rows[5]!.features;
    const answers = await Promise.all(
      Array.from({ length: 60 }, () => r.app.request('/v1/predict', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ features }) })),
    );
    expect(answers.map((x) => x.status)).toEqual(answers.map(() => 200));
    const after = await waitUntil(
      () => {
        const s = ofDataset(readEvents(rLogs), 'mlmon.resource').at(-1)?.mlmon.resource.shadow;
        return s && s.completed + s.dropped - (before?.dropped ?? 0) === 60 && s.queue_depth === 0 && s;
      },
      { timeoutMs: 10_000, what: 'every copy made or dropped' },
    );
    expect(after.dropped - (before?.dropped ?? 0)).toBeGreaterThanOrEqual(56);
    // Exactly the copies made have a line; a dropped one's active line names no copy.
    const lines = predictions(rLogs).filter((e) => e.mlmon.prediction.features.mean_radius === features.mean_radius);
    const named = lines.filter((e) => e.mlmon.model.role === 'active' && e.mlmon.prediction.shadow_id).length;
    expect(named).toBe(after.completed);
    expect(lines.filter((e) => e.mlmon.model.role === 'shadow')).toHaveLength(after.completed);
  });
});
