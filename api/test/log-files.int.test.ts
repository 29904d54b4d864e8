import { readdirSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { indexForEvent } from '@mlmon/contract';
import { writeEvents } from '@mlmon/runtime';
import { testCluster } from '@mlmon/elasticsearch/testing';
import { setupTemplates } from '@mlmon/contract';
import { createReplica } from '../src/replica.js';
import { holdout, ofDataset, readEvents, testConfig } from './support.js';

const features = holdout.rows[0]!.features;
const predict = (app: { request: (p: string, i: RequestInit) => Response | Promise<Response> }, body: unknown) =>
  app.request('/v1/predict', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('replica log files', () => {
  it('rotate by size without ever splitting a line or losing one', async () => {
    const config = testConfig({ MLMON_API_REPLICA_ID: 'replica-rotate', MLMON_API_LOG_MAX_BYTES: '20000', MLMON_API_LOG_MAX_FILES: '100' });
    const replica = await createReplica(config);
    for (let i = 0; i < 30; i++) await predict(replica.app, { instances: Array(10).fill(features) });
    await replica.close();
    const files = readdirSync(config.MLMON_LOG_DIR).filter((f) => f.endsWith('.ndjson'));
    expect(files.length).toBeGreaterThan(5);
    expect(files).toContain('api-replica-rotate.ndjson');
    expect(files).toContain('api-replica-rotate.1.ndjson');
    // readEvents parses and validates every line of every file.
    expect(ofDataset(readEvents(config.MLMON_LOG_DIR), 'mlmon.prediction')).toHaveLength(300);
  });

  it('carry a resource sample every interval', async () => {
    const config = testConfig({ MLMON_API_REPLICA_ID: 'replica-resource', MLMON_API_RESOURCE_INTERVAL: '300ms' });
    const replica = await createReplica(config);
    await expect.poll(() => ofDataset(readEvents(config.MLMON_LOG_DIR), 'mlmon.resource').length, { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
    await replica.close();
    const samples = ofDataset(readEvents(config.MLMON_LOG_DIR), 'mlmon.resource');
    const s = samples.at(-1)!.mlmon.resource;
    expect(s.in_flight_requests).toBe(0);
    expect(s.process.rss_bytes).toBeGreaterThan(10e6);
    expect(s.host.memory_total_bytes).toBeGreaterThan(100e6);
  });
});

describe('replica log lines in the real cluster', () => {
  const cluster = testCluster();
  afterAll(cluster.cleanup);

  it('index with the foundation templates: prediction, feedback, resource and app lines', async () => {
    const { client, prefix } = cluster;
    await setupTemplates(client, { prefix });
    const config = testConfig({ MLMON_API_REPLICA_ID: 'replica-es', MLMON_API_RESOURCE_INTERVAL: '200ms' });
    const replica = await createReplica(config);
    const p = (await (await predict(replica.app, { features })).json()) as { prediction_id: string };
    await replica.app.request('/v1/feedback', { method: 'POST', body: JSON.stringify({ prediction_id: p.prediction_id, true_label: 'benign' }) });
    await predict(replica.app, { features: { ...features, mean_radius: 'x' } });
    await expect.poll(() => ofDataset(readEvents(config.MLMON_LOG_DIR), 'mlmon.resource').length, { timeout: 10_000 }).toBeGreaterThan(0);
    await replica.close();

    const events = readEvents(config.MLMON_LOG_DIR);
    const datasets = new Set(events.map((e) => e.event.dataset));
    expect([...datasets].sort()).toEqual(['mlmon.app', 'mlmon.feedback', 'mlmon.prediction', 'mlmon.resource']);
    const result = await writeEvents(client, { prefix, events, refresh: true });
    expect(result).toEqual({ indexed: events.length, duplicates: 0, failed: [] });

    const prediction = ofDataset(events, 'mlmon.prediction')[0]!;
    const doc = await client.get({ index: indexForEvent(prefix, prediction), id: p.prediction_id });
    expect(doc.found).toBe(true);
    const feedback = await client.search({ index: `${prefix}-feedback-*`, query: { term: { 'mlmon.prediction.id': p.prediction_id } } });
    expect(feedback.hits.hits).toHaveLength(1);
    const warnings = await client.count({ index: `${prefix}-events-*`, query: { term: { 'error.code': 'invalid_feature_value' } } });
    expect(warnings.count).toBe(1);
  });
});
