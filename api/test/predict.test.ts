import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAcceptedRequestId } from '@mlmon/contract';
import { createReplica, type Replica } from '../src/replica.js';
import { holdout, ofDataset, readEvents, testConfig } from './support.js';

let replica: Replica;
let logDir: string;
beforeAll(async () => {
  const config = testConfig({ MLMON_API_REPLICA_ID: 'replica-test', MLMON_API_MAX_BATCH: '64' });
  logDir = config.MLMON_LOG_DIR;
  replica = await createReplica(config);
});
afterAll(() => replica.close());

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  replica.app.request(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

interface PredictionBody {
  prediction_id: string;
  model: { name: string; version: string };
  label: string;
  probability: number;
  probabilities: Record<string, number>;
}

describe('POST /v1/predict with the real ONNX models', () => {
  it.each(['v1', 'v2', 'broken'])('matches the training pipeline within 1e-5 on every holdout row (%s)', async (version) => {
    let worst = 0;
    for (let start = 0; start < holdout.rows.length; start += 50) {
      const rows = holdout.rows.slice(start, start + 50);
      const res = await post('/v1/predict', { model_version: version, instances: rows.map((r) => r.features) });
      expect(res.status).toBe(200);
      const { predictions } = (await res.json()) as { predictions: PredictionBody[] };
      predictions.forEach((p, i) => {
        const expected = rows[i]!.expected[version]!;
        holdout.class_labels.forEach((c, k) => {
          worst = Math.max(worst, Math.abs(p.probabilities[c]! - expected.probabilities[k]!));
        });
        expect(p.label).toBe(expected.label);
        expect(p.model.version).toBe(version);
        expect(p.probability).toBe(p.probabilities[holdout.positive_label]);
      });
    }
    expect(worst).toBeLessThan(1e-5);
  });

  it('answers one instance with one prediction, carrying X-Request-ID and X-Replica-Id', async () => {
    const res = await post('/v1/predict', { features: holdout.rows[0]!.features }, { 'X-Request-ID': 'req-from-nginx-1' });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBe('req-from-nginx-1');
    expect(res.headers.get('x-replica-id')).toBe('replica-test');
    const body = (await res.json()) as PredictionBody;
    expect(body.prediction_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(body.model).toEqual({ name: 'breast-cancer-classifier', version: 'v1' });
  });

  it('writes one valid mlmon.prediction line per prediction, with the request id, replica and duration', async () => {
    const res = await post('/v1/predict', { instances: holdout.rows.slice(0, 3).map((r) => r.features) }, { 'X-Request-ID': 'batch-req-42' });
    const { predictions } = (await res.json()) as { predictions: PredictionBody[] };
    // No wait: an answered prediction is in the log before its answer leaves.
    const lines = ofDataset(readEvents(logDir), 'mlmon.prediction').filter((e) => e.http.request.id === 'batch-req-42');
    expect(lines.map((l) => l.mlmon.prediction.id)).toEqual(predictions.map((p) => p.prediction_id));
    for (const [i, line] of lines.entries()) {
      expect(line.service.node.name).toBe('replica-test');
      expect(line.event.duration).toBeGreaterThan(0);
      expect(line.mlmon.model).toEqual({ name: 'breast-cancer-classifier', version: 'v1', role: 'active' });
      expect(line.mlmon.prediction.features).toEqual(holdout.rows[i]!.features);
      expect(line.mlmon.prediction.score).toBeCloseTo(predictions[i]!.probability, 6);
    }
    // Time-ordered ids: a later prediction sorts after an earlier one.
    expect([...lines.map((l) => l.mlmon.prediction.id)].sort()).toEqual(lines.map((l) => l.mlmon.prediction.id));
  });

  it('keeps a client X-Request-ID exactly when the shared rule (REQUEST_ID_PATTERN, also in nginx) accepts it', async () => {
    const cases = ['abc-DEF_123=', 'a'.repeat(255), 'a'.repeat(256), 'has space', 'semi;colon', 'dot.ted', 'ünïcode', 'slash/es', ''];
    for (const id of cases) {
      // Headers carry bytes: a client's UTF-8 arrives as Latin-1 characters, as from nginx.
      const sent = Buffer.from(id, 'utf8').toString('latin1');
      const res = await replica.app.request('/healthz', { headers: { 'X-Request-ID': sent } });
      expect(res.headers.get('x-request-id') === sent, JSON.stringify(id)).toBe(isAcceptedRequestId(sent));
    }
  });

  it('writes each batch row with its share of the batch as event.duration, and the batch time by name', async () => {
    await post('/v1/predict', { instances: holdout.rows.slice(0, 4).map((r) => r.features) }, { 'X-Request-ID': 'batch-of-4' });
    const lines = ofDataset(readEvents(logDir), 'mlmon.prediction').filter((e) => e.http.request.id === 'batch-of-4');
    expect(lines).toHaveLength(4);
    for (const line of lines) {
      const batch = line.mlmon.prediction.batch!;
      expect(batch.size).toBe(4);
      expect(line.event.duration).toBe(Math.round(batch.duration_ns / 4));
    }
  });

  it('generates a request id when the client sent none', async () => {
    const res = await post('/v1/predict', { features: holdout.rows[1]!.features });
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('bad input gets a clear 4xx and an mlmon.app warning, never a crash', () => {
  const features = holdout.rows[0]!.features;
  const { mean_radius: _omitted, ...missingOne } = features;
  const cases: Array<[string, unknown, number, string, string | undefined]> = [
    ['malformed JSON', '{"features": {', 400, 'malformed_json', undefined],
    ['a JSON array', [1, 2], 400, 'invalid_body', undefined],
    ['no features', {}, 400, 'missing_features', 'features'],
    ['a missing feature', { features: missingOne }, 400, 'missing_feature', 'features.mean_radius'],
    ['an unknown feature', { features: { ...features, colour: 1 } }, 400, 'unknown_feature', 'features.colour'],
    ['a string value', { features: { ...features, mean_radius: '17.9' } }, 400, 'invalid_feature_value', 'features.mean_radius'],
    ['null', { features: { ...features, mean_texture: null } }, 400, 'invalid_feature_value', 'features.mean_texture'],
    ['Infinity (1e999)', `{"features": ${JSON.stringify(features).replace('"mean_radius":' + features.mean_radius, '"mean_radius":1e999')}}`, 400, 'invalid_feature_value', 'features.mean_radius'],
    ['NaN', `{"features": {"mean_radius": NaN}}`, 400, 'malformed_json', undefined],
    ['a bad instance in a batch', { instances: [features, { ...features, worst_symmetry: 'x' }] }, 400, 'invalid_feature_value', 'instances[1].worst_symmetry'],
    ['an empty batch', { instances: [] }, 400, 'empty_batch', 'instances'],
    ['a batch too large', { instances: Array(65).fill(features) }, 400, 'batch_too_large', 'instances'],
    ['an unknown model version', { model_version: 'v99', features }, 404, 'unknown_model_version', 'model_version'],
    ['an unknown top-level field', { features, extra: 1 }, 400, 'unknown_field', 'extra'],
  ];

  it.each(cases)('%s', async (_name, body, status, code, field) => {
    const requestId = `bad-${code}-${Math.random().toString(36).slice(2)}`;
    const res = await post('/v1/predict', body, { 'X-Request-ID': requestId });
    expect(res.status).toBe(status);
    expect(res.headers.get('x-replica-id')).toBe('replica-test');
    const { error } = (await res.json()) as { error: { code: string; message: string; field?: string } };
    expect(error.code).toBe(code);
    expect(error.field).toBe(field);
    await expect
      .poll(() => ofDataset(readEvents(logDir), 'mlmon.app').find((e) => e.http?.request.id === requestId))
      .toMatchObject({ log: { level: 'warn' }, error: { code, message: error.message, type: code === 'unknown_model_version' ? 'UnknownModelVersionError' : 'ApiError' } });
  });

  it('refuses a body over the limit with 413, whether it declares its length or not', async () => {
    const big = JSON.stringify({ features, padding: 'x'.repeat(200 * 1024) });
    // Without Content-Length the body is counted as it is read; with it, the header alone decides.
    for (const headers of [{}, { 'content-length': String(Buffer.byteLength(big)) }] as Array<Record<string, string>>) {
      const res = await post('/v1/predict', big, headers);
      expect(res.status).toBe(413);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('payload_too_large');
    }
    const small = JSON.stringify({ features });
    expect((await post('/v1/predict', small, { 'content-length': String(Buffer.byteLength(small)) })).status).toBe(200);
  });
});

describe('replica naming', () => {
  it('is replica-<MLMON_API_PORT> by default, MLMON_API_REPLICA_ID when set, and replica-<hostname> when an engine scales identical replicas', async () => {
    const { loadApiConfig } = await import('../src/config.js');
    const os = await import('node:os');
    expect(loadApiConfig({ MLMON_API_PORT: '9005' }).MLMON_API_REPLICA_ID).toBe('replica-9005');
    expect(loadApiConfig({ MLMON_API_PORT: '9005', MLMON_API_REPLICA_ID: 'blue-1', MLMON_API_REPLICA_ID_FROM_HOSTNAME: 'true' }).MLMON_API_REPLICA_ID).toBe('blue-1');
    expect(loadApiConfig({ MLMON_API_PORT: '9005', MLMON_API_REPLICA_ID_FROM_HOSTNAME: 'true' }).MLMON_API_REPLICA_ID).toBe(`replica-${os.hostname()}`);
  });
});
