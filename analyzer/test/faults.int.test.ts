import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { estypes } from '@elastic/elasticsearch';
import { createEsClient, loadEsConfig } from '@mlmon/runtime';
import { familyPattern, parseEcsLine, type MlmonEvent } from '@mlmon/contract';
import { esRelay, testCluster } from '@mlmon/elasticsearch/testing';
import { setupTemplates } from '@mlmon/contract';
import { AnalyzerWriter, SliceStore, analyzeWindow, loadAnalyzerConfig, startAnalyzer, type WindowReport } from '../src/index.js';
import { analysisContext, fixture, index, predictionEvent, reference } from './support.js';

const cluster = testCluster();
const { client, prefix } = cluster;
const dir = mkdtempSync(path.join(os.tmpdir(), 'mlmon-analyzer-'));
afterAll(async () => {
  await cluster.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

const rows = (version: string, n: number, at = () => new Date().toISOString()) =>
  fixture.predictions.slice(0, n).map((p, i) => predictionEvent({ ...p, id: `${version}-${i}-${Date.now()}`, version, role: 'active', time: at() }, fixture.feature_names));
const ctx = analysisContext(client, prefix);
const meanScore = (ps: Array<{ score: number }>) => ps.reduce((sum, p) => sum + p.score, 0) / ps.length;
type Event<D extends MlmonEvent['event']['dataset']> = Extract<MlmonEvent, { event: { dataset: D } }>;

/** The metric documents under a prefix that match `filter`, in the order they were written, each checked against the contract. */
async function metricDocs(of: string, filter: estypes.QueryDslQueryContainer[]): Promise<MlmonEvent[]> {
  await client.indices.refresh({ index: familyPattern(of, 'metrics'), allow_no_indices: true });
  const res = await client.search({ index: familyPattern(of, 'metrics'), allow_no_indices: true, size: 10_000, query: { bool: { filter } }, sort: [{ '@timestamp': 'asc' }, { 'event.sequence': 'asc' }] });
  return res.hits.hits.map((h) => parseEcsLine(JSON.stringify(h._source)));
}

/** A report's metric documents as the service writes them: indexed by the analyzer's writer, then read back. */
async function written(report: WindowReport): Promise<MlmonEvent[]> {
  const writer = new AnalyzerWriter(client, { prefix, node: 'test' });
  const first = await writer.metrics([report]);
  // Written again (a tick computed twice after a crash): every document is already there, none is added.
  expect(await writer.metrics([report])).toEqual({ written: 0, conflicts: first.written });
  return metricDocs(prefix, [{ term: { 'mlmon.window.name': report.window.name } }, { term: { 'mlmon.window.end': report.window.end } }]);
}

describe('empty windows', () => {
  it('a window without predictions reports no version and no metric', async () => {
    const report = await analyzeWindow(ctx, { start: new Date('2001-01-01'), end: new Date('2001-01-02'), name: '1d' });
    expect(report.versions).toEqual([]);
  });

  it('a version that served in the longest window but not in a shorter one: count 0, insufficient data with the minimum, no metric invented', async () => {
    const t0 = Date.parse('2003-01-01T00:00:00Z');
    await setupTemplates(client, { prefix });
    await index(client, prefix, rows('v1', 40, () => new Date(t0 + 60_000).toISOString()));
    const short = { name: '5m', ms: 300_000 };
    const long = { name: '15m', ms: 900_000 };
    const store = new SliceStore(ctx, { intervalMs: 60_000, windows: [short, long], lateHorizonMs: 60_000 });
    const t = t0 + long.ms;
    await store.update(t);
    expect(store.report(t, long).versions.map((v) => v.quality.count)).toEqual([40]);

    const report = store.report(t, short);
    expect(report.versions).toHaveLength(1);
    const g = report.versions[0]!;
    expect(g.model).toEqual({ name: 'breast-cancer-classifier', version: 'v1', role: 'active' });
    expect(g.quality).toEqual({ count: 0, labeled: 0, confusion: { tp: 0, fp: 0, tn: 0, fn: 0 }, min_samples: 30, sufficient: false });
    expect(g.drift.features).toEqual([]);
    expect(g.drift.score).toBeUndefined();
    expect(g.drift.summary).toMatchObject({ count: 0, sufficient: false, min_samples: 45 });
    expect(g.drift.summary.drifted_share).toBeUndefined();
    expect(g.drift.summary.reconstruction_error).toBeUndefined();
    expect(g.data_quality.summary.out_of_range_rate).toBeUndefined();
    expect(g.data_quality.summary.ood_rate).toBeUndefined();
    expect(g.data_quality.features.every((f) => f.out_of_range_rate === undefined)).toBe(true);
    expect(g.notes).toEqual(['quality: insufficient data: 0 labeled, 30 needed', 'drift: insufficient data: 0 predictions, 45 needed']);

    const events = await written(report);
    const quality = events.filter((e) => e.event.dataset === 'mlmon.quality') as Array<Event<'mlmon.quality'>>;
    expect(quality.map((e) => e.message)).toEqual(['quality v1 (active) 5m: insufficient data (no predictions, 0 labeled, 30 needed)']);
    const drift = events.filter((e) => e.event.dataset === 'mlmon.drift') as Array<Event<'mlmon.drift'>>;
    expect(drift.map((e) => e.mlmon.drift)).toEqual([expect.objectContaining({ feature: '_all', count: 0, sufficient: false, min_samples: 45 })]);
  });

  it('the service says so when no version served in any window: "no traffic" is told apart from "analyzer not running"', async () => {
    const out = mkdtempSync(path.join(dir, 'idle-'));
    // A prefix with nothing under it; no templates, so the test cluster keeps nothing of it.
    const config = loadAnalyzerConfig({
      MLMON_ES_URL: cluster.url,
      MLMON_INDEX_PREFIX: `${prefix}-idle`,
      MLMON_ANALYZER_INTERVAL: '1s',
      MLMON_ANALYZER_WINDOWS: '2s,4s',
      MLMON_ANALYZER_SETUP_TEMPLATES: 'false',
      MLMON_LOG_DIR: out,
      MLMON_ANALYZER_STATE_DIR: out,
    });
    const analyzer = await startAnalyzer(config, { client, reference, say: () => {} });
    try {
      await expect.poll(() => analyzer.status().ticks, { timeout: 30_000 }).toBeGreaterThanOrEqual(3);
    } finally {
      await analyzer.stop();
    }
    const events = readFileSync(path.join(out, 'analyzer.ndjson'), 'utf8').trimEnd().split('\n').map(parseEcsLine);
    expect(events.filter((e) => e.event.dataset !== 'mlmon.app')).toEqual([]);
    expect(await metricDocs(`${prefix}-idle`, [])).toEqual([]);
    const idle = events.filter((e) => e.message.includes('no predictions'));
    expect(idle.length).toBeGreaterThanOrEqual(3);
    expect(idle[0]!.message).toMatch(/^windows 2s, 4s ending \S+Z: no predictions, no metrics \(insufficient data: 0 predictions\)$/);
  });
});

describe('drift with fewer predictions than a reference chunk (45 training rows; MLMON_ANALYZER_MIN_PREDICTIONS unset)', () => {
  const t0 = Date.parse('2004-01-01T00:00:00Z');
  const window = (n: number) => ({ start: new Date(t0), end: new Date(t0 + n * 1000), name: 'adhoc' });

  it('44 of 45: drift is reported as insufficient, with the minimum; no PSI, KS or share is computed from noise', async () => {
    // One prediction per second: the first n seconds hold n of them.
    await setupTemplates(client, { prefix });
    let i = 0;
    await index(client, prefix, rows('v1', 50, () => new Date(t0 + 1000 * i++).toISOString()));
    const report = await analyzeWindow(ctx, window(44));
    const g = report.versions[0]!;
    expect(g.quality.count).toBe(44);
    expect(g.drift.features).toEqual([]);
    expect(g.drift.score).toBeUndefined();
    expect(g.drift.summary).toEqual({
      feature: '_all',
      count: 44,
      features: 30,
      correction: 'benjamini-hochberg',
      min_samples: 45,
      sufficient: false,
    });
    expect(g.notes).toContain('drift: insufficient data: 44 predictions, 45 needed');
    // These predictions carry no OOD score (the fixture predates it): no reconstruction drift, and it says why.
    expect(g.notes).toContain('reconstruction drift and OOD rate: no prediction carries an OOD score (replicas with the score off, or older than it)');
    const drift = (await written(report)).filter((e) => e.event.dataset === 'mlmon.drift') as Array<Event<'mlmon.drift'>>;
    expect(drift.map((e) => e.mlmon.drift.feature)).toEqual(['_all']);
    // What needs only one prediction is still there: the label-free statistics and data quality.
    const first44 = fixture.predictions.slice(0, 44);
    expect(g.quality.avg_score).toBeCloseTo(meanScore(first44), 6);
    // Out of range: any feature outside the training range the reference holds.
    const outside = first44.filter((p) => fixture.feature_names.some((f, j) => p.features[j]! < reference.features.get(f)!.min || p.features[j]! > reference.features.get(f)!.max));
    expect(g.data_quality.summary.out_of_range_rate).toBe(outside.length / 44);
  });

  it('45 of 45: every feature and the score get their drift and verdicts', async () => {
    const g = (await analyzeWindow(ctx, window(45))).versions[0]!;
    expect(g.drift.features).toHaveLength(30);
    expect(g.drift.features.every((d) => d.ks_threshold! > 0 && typeof d.psi_alert === 'boolean')).toBe(true);
    expect(g.drift.score).toMatchObject({ feature: 'score', count: 45 });
    expect(g.drift.summary).toMatchObject({ count: 45, sufficient: true, drifted_share_threshold: 1 / 30 });
    expect(g.drift.summary.drifted_share).toBe(g.drift.features.filter((f) => f.drifted).length / 30);
    expect(g.notes.some((n) => n.startsWith('drift:'))).toBe(false);
  });
});

describe('the service', () => {
  it('waits out Elasticsearch being down, then computes every missed window: no gap, no crash, no NaN', async () => {
    // v1 has reference scores, v9 (a version trained after the profile) has none; 5 predictions each, below the minimum labeled.
    await setupTemplates(client, { prefix });
    await index(client, prefix, [...rows('v1', 5), ...rows('v9', 5)]);
    const r = await esRelay(cluster.url);
    const config = loadAnalyzerConfig({
      MLMON_ES_URL: r.url,
      MLMON_INDEX_PREFIX: prefix,
      MLMON_ANALYZER_INTERVAL: '1s',
      MLMON_ANALYZER_WINDOWS: '1h',
      MLMON_ANALYZER_MIN_PREDICTIONS: '3',
      MLMON_LOG_DIR: dir,
      MLMON_ANALYZER_STATE_DIR: dir,
    });
    const es = createEsClient({ ...loadEsConfig({}), MLMON_ES_URL: r.url }, { maxRetries: 0, requestTimeout: 2000 });
    const analyzer = await startAnalyzer(config, { client: es, reference, say: () => {} });
    try {
      await expect.poll(() => analyzer.status().ticks, { timeout: 30_000 }).toBeGreaterThanOrEqual(2);
      await r.down();
      await expect.poll(() => analyzer.status().lastError, { timeout: 30_000 }).toMatch(/^connect ECONNREFUSED 127\.0\.0\.1:\d+$/);
      const ticksWhileDown = analyzer.status().ticks;
      // The outage itself: four ticks' windows go by with Elasticsearch down, to be computed afterwards.
      await new Promise((res) => setTimeout(res, 4000));
      await r.up();
      await expect.poll(() => analyzer.status().lastError, { timeout: 30_000 }).toBeUndefined();
      await expect.poll(() => analyzer.status().ticks, { timeout: 30_000 }).toBeGreaterThanOrEqual(ticksWhileDown + 4);
    } finally {
      await analyzer.stop();
      await es.close();
      await r.close();
    }

    // The app lines in its log file, the metric documents in Elasticsearch: every one a valid event of the contract.
    const lines = readFileSync(path.join(dir, 'analyzer.ndjson'), 'utf8').trimEnd().split('\n').map(parseEcsLine);
    expect(lines.filter((e) => e.event.dataset !== 'mlmon.app')).toEqual([]);
    expect(lines.some((e) => e.message.startsWith('Elasticsearch is back'))).toBe(true);
    const events = await metricDocs(prefix, [{ term: { 'mlmon.window.name': '1h' } }]);
    expect(JSON.stringify(events)).not.toMatch(/NaN|Infinity|null/);
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
    expect(q.avg_score).toBeCloseTo(meanScore(fixture.predictions.slice(0, 5)), 6);
    // A version without reference scores: feature drift, but no score drift.
    const drift = events.filter((e) => e.event.dataset === 'mlmon.drift') as Array<Extract<MlmonEvent, { event: { dataset: 'mlmon.drift' } }>>;
    const scoreDrift = (v: string) => drift.filter((e) => e.mlmon.model.version === v && e.mlmon.drift.feature === 'score');
    expect(scoreDrift('v1').length).toBeGreaterThan(0);
    expect(scoreDrift('v9')).toHaveLength(0);
    expect(drift.some((e) => e.mlmon.model.version === 'v9' && e.mlmon.drift.feature === 'mean_radius')).toBe(true);
  }, 120_000);
});
