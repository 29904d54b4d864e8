import { createHmac, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createReplica, type Replica } from '../src/replica.js';
import { holdout, ofDataset, readEvents, testConfig } from './support.js';

const features = holdout.rows[0]!.features;
const KEY = 'k'.repeat(16) + randomBytes(16).toString('hex');
const replicas: Replica[] = [];
afterAll(() => Promise.all(replicas.map((r) => r.close())));

async function replicaWith(env: Record<string, string>) {
  const config = testConfig(env);
  const replica = await createReplica(config);
  replicas.push(replica);
  const predict = async (body: unknown) => {
    const res = await replica.app.request('/v1/predict', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as { prediction_id: string; error?: { code: string; field: string } } };
  };
  const line = (id: string) => ofDataset(readEvents(config.MLMON_LOG_DIR), 'mlmon.prediction').find((e) => e.mlmon.prediction.id === id)!;
  /** Every byte any file in the log directory holds. */
  const everything = () => readdirSync(config.MLMON_LOG_DIR).map((f) => readFileSync(path.join(config.MLMON_LOG_DIR, f), 'utf8')).join('\n');
  return { predict, line, everything };
}

describe('personal data in prediction requests', () => {
  it('logs a sensitive context field only as a keyed pseudonym: the same patient keeps one, the value appears nowhere', async () => {
    const r = await replicaWith({ MLMON_API_PSEUDONYM_KEY: KEY, MLMON_API_PSEUDONYMIZE_FIELDS: 'patient_id' });
    const marker = `patient-${randomBytes(6).toString('hex')}`;
    const a = await r.predict({ features, context: { patient_id: marker, ward: 'oncology-2' } });
    const b = await r.predict({ features, context: { patient_id: marker } });
    const other = await r.predict({ features, context: { patient_id: `${marker}-other` } });
    expect([a.status, b.status, other.status]).toEqual([200, 200, 200]);
    const pa = r.line(a.body.prediction_id).mlmon.prediction.context!;
    // HMAC-SHA256 under the configured key, recomputed here independently.
    const expected = createHmac('sha256', KEY).update(`patient_id\u0000${marker}`).digest('hex').slice(0, 32);
    expect(pa).toEqual({ patient_id: `hmac-sha256:${expected}`, ward: 'oncology-2' });
    expect(r.line(b.body.prediction_id).mlmon.prediction.context!.patient_id).toBe(pa.patient_id);
    expect(r.line(other.body.prediction_id).mlmon.prediction.context!.patient_id).not.toBe(pa.patient_id);
    expect(r.everything()).not.toContain(marker);
    expect(r.everything()).not.toContain(KEY);
  });

  it('drops a sensitive field when no key is configured, so nothing leaks by default', async () => {
    const r = await replicaWith({});
    const marker = `patient-${randomBytes(6).toString('hex')}`;
    const a = await r.predict({ features, context: { patient_id: marker, session_id: 's-1' } });
    expect(a.status).toBe(200);
    expect(r.line(a.body.prediction_id).mlmon.prediction.context).toEqual({ session_id: 's-1' });
    expect(r.everything()).not.toContain(marker);
  });

  it('leaves out or coarsens the configured features in the log, while the model still sees them', async () => {
    const r = await replicaWith({ MLMON_API_LOG_DROP_FEATURES: 'mean_texture', MLMON_API_LOG_COARSEN_FEATURES: 'mean_area:100' });
    const plain = await replicaWith({});
    const a = await r.predict({ features });
    const p = await plain.predict({ features });
    const logged = r.line(a.body.prediction_id).mlmon.prediction;
    expect(logged.features).not.toHaveProperty('mean_texture');
    expect(logged.features.mean_area).toBe(Math.round(features.mean_area! / 100) * 100);
    expect(logged.features.mean_radius).toBe(features.mean_radius);
    expect(logged.score).toBe(plain.line(p.body.prediction_id).mlmon.prediction.score);
  });

  it('refuses a malformed context with 400 naming the field', async () => {
    const r = await replicaWith({});
    expect((await r.predict({ features, context: 'patient-1' })).body.error).toMatchObject({ code: 'invalid_context', field: 'context' });
    expect((await r.predict({ features, context: { patient_id: 42 } })).body.error).toMatchObject({ code: 'invalid_context', field: 'context.patient_id' });
    expect((await r.predict({ features, context: { 'bad key': 'x' } })).body.error).toMatchObject({ code: 'invalid_context', field: 'context' });
  });

  it('refuses a pseudonym key too short to be a secret, naming the variable', () => {
    expect(() => testConfig({ MLMON_API_PSEUDONYM_KEY: 'short' })).toThrow(/MLMON_API_PSEUDONYM_KEY/);
  });
});
