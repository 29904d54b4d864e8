import { rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { v4 as uuidv4, v7 as uuidv7 } from 'uuid';
import { waitUntil } from '@mlmon/runtime';
import { createReplica, type Replica } from '../src/replica.js';
import { TEST_ADMIN_TOKEN, holdout, ofDataset, readEvents, tempDir, testConfig } from './support.js';

const stateDir = tempDir('model-state');
const stateFile = path.join(stateDir, 'serving.json');
let a: Replica;
let b: Replica;
let logDir: string;

beforeAll(async () => {
  const config = testConfig({ MLMON_API_REPLICA_ID: 'replica-a', MLMON_API_MODEL_STATE_FILE: stateFile });
  logDir = config.MLMON_LOG_DIR;
  a = await createReplica(config);
  b = await createReplica(testConfig({ MLMON_API_REPLICA_ID: 'replica-b', MLMON_API_MODEL_STATE_FILE: stateFile }));
});
afterAll(async () => {
  await a.close();
  await b.close();
  rmSync(stateDir, { recursive: true, force: true });
});

const call = (r: Replica, method: string, path: string, body?: unknown, token: string | null = TEST_ADMIN_TOKEN) =>
  r.app.request(path, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

const features = holdout.rows[0]!.features;

describe('model versions and admin', () => {
  it('lists the versions, the active one and the canary', async () => {
    const res = await call(a, 'GET', '/v1/models');
    const body = (await res.json()) as { versions: Array<{ version: string }>; active: string; canary: unknown };
    expect(body.versions.map((v) => v.version)).toEqual(['broken', 'v1', 'v2']);
    expect(body).toMatchObject({ active: 'v1', canary: null });
  });

  it('answers 401 to a wrong token and 403 when no token is configured', async () => {
    expect((await call(a, 'PUT', '/admin/models/active', { version: 'v2' }, 'wrong-token')).status).toBe(401);
    expect((await call(a, 'PUT', '/admin/models/active', { version: 'v2' }, null)).status).toBe(401);
    const refused = await call(a, 'PUT', '/admin/models/active', { version: 'v2' }, `${TEST_ADMIN_TOKEN}x`);
    expect(await refused.json()).toEqual({ error: { code: 'unauthorized', message: 'missing or wrong bearer token' } });
    expect(a.registry.serving().active).toBe('v1');
    // Logged as every refusal is: the code, the class, the request it answers.
    const line = await waitUntil(() => ofDataset(readEvents(logDir), 'mlmon.app').find((e) => e.error?.code === 'unauthorized'), { timeoutMs: 5000, what: 'the refusal line' });
    expect(line.error).toEqual({ code: 'unauthorized', message: 'missing or wrong bearer token', type: 'ApiError' });
    expect(line.http?.request.id).toMatch(/\S/);
    const closed = await createReplica(testConfig({ MLMON_API_REPLICA_ID: 'replica-closed', MLMON_API_ADMIN_TOKEN: '' }));
    try {
      const res = await call(closed, 'PUT', '/admin/models/active', { version: 'v2' });
      expect(res.status).toBe(403);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('admin_disabled');
    } finally {
      await closed.close();
    }
  });

  it('refuses an unknown version with 404 and a bad weight with 400', async () => {
    expect((await call(a, 'PUT', '/admin/models/active', { version: 'v9' })).status).toBe(404);
    expect((await call(a, 'PUT', '/admin/models/canary', { version: 'v2', weight: 101 })).status).toBe(400);
    expect((await call(a, 'PUT', '/admin/models/canary', { version: 'v1', weight: 10 })).status).toBe(409);
  });

  it.each([
    ['PUT', '/admin/models/active', {}, 'invalid_version', 'version'],
    ['PUT', '/admin/models/active', { version: '' }, 'invalid_version', 'version'],
    ['POST', '/admin/models/rollback', { version: 7 }, 'invalid_version', 'version'],
    ['PUT', '/admin/models/active', [1, 2], 'invalid_version', 'version'],
    ['PUT', '/admin/models/canary', { version: 'v2' }, 'invalid_weight', 'weight'],
    ['PUT', '/admin/models/canary', { version: 'v2', weight: '10' }, 'invalid_weight', 'weight'],
    ['PUT', '/admin/models/canary', { version: 'v2', weight: -1 }, 'invalid_weight', 'weight'],
    ['PUT', '/admin/models/active', '{"version":', 'malformed_json', undefined],
  ])('%s %s refuses %j with 400, its code and the field, and changes nothing', async (method, path, body, code, field) => {
    const before = a.registry.serving();
    const res = await a.app.request(path, {
      method,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_ADMIN_TOKEN}` },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as { error: { code: string; field?: string } };
    expect([error.code, error.field]).toEqual([code, field]);
    expect(a.registry.serving()).toEqual(before);
  });

  it('routes the canary its share, tags its predictions, and shares the change with every replica', async () => {
    const set = await call(a, 'PUT', '/admin/models/canary', { version: 'broken', weight: 100 });
    expect(await set.json()).toEqual({ active: 'v1', canary: { version: 'broken', weight: 100 }, shadow: null, history: [] });
    const viaA = (await (await call(a, 'POST', '/v1/predict', { features })).json()) as { model: { version: string } };
    expect(viaA.model.version).toBe('broken');

    // Replica b learns it from the shared state file.
    await expect
      .poll(async () => ((await (await call(b, 'POST', '/v1/predict', { features })).json()) as { model: { version: string } }).model.version, { timeout: 5000 })
      .toBe('broken');

    await call(a, 'PUT', '/admin/models/canary', { version: 'v2', weight: 30 });
    let canary = 0;
    for (let i = 0; i < 400; i++) {
      const r = (await (await call(a, 'POST', '/v1/predict', { features })).json()) as { model: { version: string } };
      if (r.model.version === 'v2') canary += 1;
    }
    // 30% of 400: a binomial with sd ~9; 80..160 is over 4 sd wide.
    expect(canary).toBeGreaterThan(80);
    expect(canary).toBeLessThan(160);

    // An answered prediction is in the log before its answer leaves.
    const roles = new Set(ofDataset(readEvents(logDir), 'mlmon.prediction').map((e) => `${e.mlmon.model.version}:${e.mlmon.model.role}`));
    expect(roles).toContain('broken:canary');
    expect(roles).toContain('v2:canary');
    expect(roles).toContain('v1:active');
  });

  it('rolls back by making another version active, on every replica', async () => {
    const res = await call(a, 'PUT', '/admin/models/active', { version: 'v2' });
    expect(await res.json()).toMatchObject({ active: 'v2', canary: null });
    await expect.poll(async () => ((await (await call(b, 'GET', '/v1/models')).json()) as { active: string }).active, { timeout: 5000 }).toBe('v2');
    // A replica started later picks the state up from the file, so a restart does not undo a rollback.
    const c = await createReplica(testConfig({ MLMON_API_REPLICA_ID: 'replica-c', MLMON_API_MODEL_STATE_FILE: stateFile }));
    try {
      expect(c.registry.serving().active).toBe('v2');
    } finally {
      await c.close();
    }
  });

  it('rolls an active version back to the previous good one from the history, once', async () => {
    // v2 is active (previous test), v1 before it; broken goes live and is rolled back.
    await call(a, 'PUT', '/admin/models/active', { version: 'broken' });
    const res = await call(a, 'POST', '/admin/models/rollback', { version: 'broken' });
    expect(res.status).toBe(200);
    const state = (await res.json()) as { active: string; history: Array<{ version: string; rolled_back: boolean }> };
    expect(state.active).toBe('v2');
    expect(state.history.slice(-2).map((h) => [h.version, h.rolled_back])).toEqual([
      ['v2', false],
      ['broken', true],
    ]);
    // The same alert again: broken is no longer active, so nothing steps back a second time.
    const again = await call(a, 'POST', '/admin/models/rollback', { version: 'broken' });
    expect(again.status).toBe(409);
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe('not_active');
    // Rolling v2 back skips broken (it was rolled back) and lands on v1.
    expect(((await (await call(a, 'POST', '/admin/models/rollback', { version: 'v2' })).json()) as { active: string }).active).toBe('v1');
    await expect.poll(async () => ((await (await call(b, 'GET', '/v1/models')).json()) as { active: string }).active, { timeout: 5000 }).toBe('v1');
    // Nothing good is left behind v1: v2 and broken were both rolled back.
    const none = await call(a, 'POST', '/admin/models/rollback', { version: 'v1' });
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe('no_previous_version');
    await call(a, 'PUT', '/admin/models/active', { version: 'v2' });
  });
});

describe('POST /v1/feedback', () => {
  it('accepts ground truth for a prediction and logs it with the delay', async () => {
    const p = (await (await call(a, 'POST', '/v1/predict', { features })).json()) as { prediction_id: string };
    // Time passing is the point: the feedback line must carry at least this delay.
    await new Promise((r) => setTimeout(r, 30));
    const res = await call(a, 'POST', '/v1/feedback', { prediction_id: p.prediction_id, true_label: 'malignant' });
    expect(res.status).toBe(202);
    const line = await waitUntil(() => ofDataset(readEvents(logDir), 'mlmon.feedback').find((e) => e.mlmon.prediction.id === p.prediction_id), {
      timeoutMs: 5000,
      what: 'the feedback line',
    });
    expect(line.mlmon.feedback.true_label).toBe('malignant');
    expect(line.mlmon.feedback.delay_ms).toBeGreaterThanOrEqual(30);
  });

  const old = uuidv7({ msecs: Date.now() - 40 * 86_400_000 });
  const future = uuidv7({ msecs: Date.now() + 3_600_000 });
  it.each([
    ['a malformed id', { prediction_id: 'abc', true_label: 'benign' }, 400, 'invalid_prediction_id'],
    ['a non-string id', { prediction_id: 7, true_label: 'benign' }, 400, 'invalid_prediction_id'],
    ['an id that is not a UUIDv7', { prediction_id: uuidv4(), true_label: 'benign' }, 404, 'unknown_prediction'],
    ['an id older than the window', { prediction_id: old, true_label: 'benign' }, 404, 'unknown_prediction'],
    ['an id from the future', { prediction_id: future, true_label: 'benign' }, 404, 'unknown_prediction'],
    ['an unknown label', { prediction_id: uuidv7(), true_label: 'maybe' }, 400, 'invalid_label'],
    ['no label', { prediction_id: uuidv7() }, 400, 'invalid_label'],
    ['a label that is not a string', { prediction_id: uuidv7(), true_label: 1 }, 400, 'invalid_label'],
    ['an unknown field', { prediction_id: uuidv7(), true_label: 'benign', score: 0.5 }, 400, 'unknown_field'],
    ['a body that is not an object', [uuidv7(), 'benign'], 400, 'invalid_body'],
  ])('refuses %s', async (_name, body, status, code) => {
    const res = await call(a, 'POST', '/v1/feedback', body);
    expect(res.status).toBe(status);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe(code);
  });

  it('names the field it refuses, and the class a label must be one of', async () => {
    const errorOf = async (body: unknown) => ((await (await call(a, 'POST', '/v1/feedback', body)).json()) as { error: { code: string; message: string; field?: string } }).error;
    expect(await errorOf({ prediction_id: 'abc', true_label: 'benign' })).toEqual({ code: 'invalid_prediction_id', message: 'prediction_id must be the id a prediction returned (a UUID)', field: 'prediction_id' });
    expect(await errorOf({ prediction_id: uuidv7(), true_label: 'benign', score: 0.5 })).toEqual({ code: 'unknown_field', message: 'unknown field "score"', field: 'score' });
    expect(await errorOf({ prediction_id: uuidv7(), true_label: 2 })).toEqual({ code: 'invalid_label', message: 'true_label must be one of malignant, benign', field: 'true_label' });
    expect(await errorOf({ prediction_id: uuidv7(), true_label: 'maybe' })).toEqual({ code: 'invalid_label', message: 'true_label must be one of malignant, benign', field: 'true_label' });
  });
});

describe('health', () => {
  it('is alive and ready, and not ready while draining', async () => {
    expect((await call(a, 'GET', '/healthz')).status).toBe(200);
    expect((await call(a, 'GET', '/readyz')).status).toBe(200);
    a.state.draining = true;
    try {
      expect((await call(a, 'GET', '/readyz')).status).toBe(503);
      expect((await call(a, 'GET', '/healthz')).status).toBe(200);
    } finally {
      a.state.draining = false;
    }
  });
});
