import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createEsClient, loadEsConfig } from '@mlmon/runtime';
import { parseEcsLine, type MlmonEvent } from '@mlmon/contract';
import { testCluster } from '@mlmon/es-local/testing';
import { setupTemplates } from '@mlmon/contract';
import { DEFAULT_SETTINGS, analyzeWindow, loadAnalyzerConfig, loadReference, startAnalyzer } from '../src/index.js';
import { fixture, index, predictionEvent } from './support.js';

const cluster = testCluster();
const { client, prefix } = cluster;
const dir = mkdtempSync(path.join(os.tmpdir(), 'mlmon-analyzer-'));
afterAll(async () => {
  await cluster.cleanup();
  rmSync(dir, { recursive: true, force: true });
});
const reference = loadReference(new URL('../../model/artifacts/reference_profile.json', import.meta.url).pathname);

/** A TCP relay to the real cluster that can refuse connections: Elasticsearch "down" without stopping it. */
async function relay(target: URL) {
  const sockets = new Set<net.Socket>();
  let up = true;
  const server = net.createServer((c) => {
    if (!up) return c.destroy();
    const s = net.connect(Number(target.port), target.hostname);
    sockets.add(c).add(s);
    c.pipe(s).pipe(c);
    const close = () => (c.destroy(), s.destroy(), sockets.delete(c), sockets.delete(s));
    c.on('error', close).on('close', close);
    s.on('error', close).on('close', close);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    down() {
      up = false;
      for (const s of sockets) s.destroy();
    },
    up() {
      up = true;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const rows = (version: string, n: number) =>
  fixture.predictions.slice(0, n).map((p, i) => predictionEvent({ ...p, id: `${version}-${i}-${Date.now()}`, version, role: 'active', time: new Date().toISOString() }, fixture.feature_names));

describe('empty windows', () => {
  it('a window without predictions reports no version and no metric', async () => {
    const report = await analyzeWindow({ client, prefix, reference, settings: DEFAULT_SETTINGS }, { start: new Date('2001-01-01'), end: new Date('2001-01-02'), name: '1d' });
    expect(report.versions).toEqual([]);
  });
});

describe('the service', () => {
  it('waits out Elasticsearch being down, then computes every missed window: no gap, no crash, no NaN', async () => {
    // v1 has reference scores, v9 (a version trained after the profile) has none; 5 predictions each, below the minimum labeled.
    await setupTemplates(client, { prefix });
    await index(client, prefix, [...rows('v1', 5), ...rows('v9', 5)]);
    const r = await relay(new URL(cluster.url));
    const config = loadAnalyzerConfig({
      ES_URL: r.url,
      MLMON_INDEX_PREFIX: prefix,
      ANALYZER_INTERVAL_S: '1',
      ANALYZER_WINDOWS: '1h',
      ANALYZER_MIN_PREDICTIONS: '3',
      LOG_DIR: dir,
      ANALYZER_STATE_DIR: dir,
    });
    const es = createEsClient({ ...loadEsConfig({}), ES_URL: r.url }, { maxRetries: 0, requestTimeout: 2000 });
    const analyzer = await startAnalyzer(config, { client: es, reference, say: () => {} });
    try {
      await expect.poll(() => analyzer.status().ticks, { timeout: 30_000 }).toBeGreaterThanOrEqual(2);
      r.down();
      await expect.poll(() => analyzer.status().lastError, { timeout: 30_000 }).toBeDefined();
      const ticksWhileDown = analyzer.status().ticks;
      await new Promise((res) => setTimeout(res, 4000));
      r.up();
      await expect.poll(() => analyzer.status().lastError, { timeout: 30_000 }).toBeUndefined();
      await expect.poll(() => analyzer.status().ticks, { timeout: 30_000 }).toBeGreaterThanOrEqual(ticksWhileDown + 4);
    } finally {
      await analyzer.stop();
      await es.close();
      await r.close();
    }

    const text = readFileSync(path.join(dir, 'analyzer.ndjson'), 'utf8');
    expect(text).not.toMatch(/NaN|Infinity|null/);
    // Every line is a valid event of the contract.
    const events: MlmonEvent[] = text.trimEnd().split('\n').map(parseEcsLine);
    const quality = events.filter((e) => e.event.dataset === 'mlmon.quality') as Array<Extract<MlmonEvent, { event: { dataset: 'mlmon.quality' } }>>;
    for (const version of ['v1', 'v9']) {
      const ends = quality.filter((e) => e.mlmon.model.version === version).map((e) => Date.parse(e.mlmon.window.end));
      expect(ends.length).toBeGreaterThanOrEqual(6);
      // One window per tick, one second apart, none missing across the outage.
      ends.forEach((t, i) => i > 0 && expect(t - ends[i - 1]!).toBe(1000));
    }
    // Too few labels: insufficient, with the minimum, and no ratio invented.
    const q = quality.at(-1)!.mlmon.quality;
    expect(q).toMatchObject({ count: 5, labeled: 0, sufficient: false, min_samples: 30 });
    expect(q.accuracy).toBeUndefined();
    expect(q.avg_score).toBeDefined();
    // A version without reference scores: feature drift, but no score drift.
    const drift = events.filter((e) => e.event.dataset === 'mlmon.drift') as Array<Extract<MlmonEvent, { event: { dataset: 'mlmon.drift' } }>>;
    const scoreDrift = (v: string) => drift.filter((e) => e.mlmon.model.version === v && e.mlmon.drift.feature === 'score');
    expect(scoreDrift('v1').length).toBeGreaterThan(0);
    expect(scoreDrift('v9')).toHaveLength(0);
    expect(drift.some((e) => e.mlmon.model.version === 'v9' && e.mlmon.drift.feature === 'mean_radius')).toBe(true);
  }, 120_000);
});
