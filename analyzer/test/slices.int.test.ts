import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testCluster } from '@mlmon/elasticsearch/testing';
import { setupTemplates } from '@mlmon/contract';
import { DEFAULT_SETTINGS, Joiner, SliceStore, StateFile, analyzeWindow, collect, finish, mergeRaw, type WindowReport } from '../src/index.js';
import { analysisContext, feedbackEvent, fixture, index, predictionEvent, rejectedEvent } from './support.js';

/**
 * The slices the service keeps against the single full pass (whose figures
 * fixture.int.test.ts holds to scikit-learn and scipy) on the same fixture:
 * merging collected ranges gives the collection of their union, and the slices
 * stay equal to the full pass when feedback, predictions and warnings arrive late.
 */

const TOL = 1e-9;
const cluster = testCluster();
const { client, prefix } = cluster;
const settings = { ...DEFAULT_SETTINGS, psiFloor: fixture.settings.psi_floor, alpha: fixture.settings.alpha };
const ctx = analysisContext(client, prefix, settings);
const start = Date.parse(fixture.window.start);
const end = Date.parse(fixture.window.end);
const INTERVAL = 5 * 60_000;
const HOUR = { name: '1h', ms: 3_600_000 };
const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(path.join(os.tmpdir(), 'mlmon-slices-'));
  dirs.push(d);
  return d;
};
const joiner = new Joiner(client, prefix, fixture.positive_label, new StateFile(undefined), { sliceMs: INTERVAL });

beforeAll(async () => {
  await setupTemplates(client, { prefix });
  await index(client, prefix, [
    ...fixture.predictions.map((p) => predictionEvent(p, fixture.feature_names)),
    ...fixture.feedback.map(feedbackEvent),
    ...fixture.rejected.map(rejectedEvent),
  ]);
  await joiner.run();
}, 120_000);
afterAll(async () => {
  await cluster.cleanup();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Same structure, every number within 1e-9 (sums may differ in the order of additions). */
function expectSame(actual: unknown, expected: unknown, where = 'report'): void {
  if (typeof expected === 'number') {
    expect(typeof actual, where).toBe('number');
    expect(Math.abs((actual as number) - expected), where).toBeLessThanOrEqual(TOL);
  } else if (expected instanceof Uint32Array) {
    expect([...(actual as Uint32Array)], where).toEqual([...expected]);
  } else if (expected instanceof Map) {
    expect(actual, where).toBeInstanceOf(Map);
    expect(Object.fromEntries(actual as Map<unknown, unknown>), where).toEqual(Object.fromEntries(expected));
  } else if (expected !== null && typeof expected === 'object') {
    expect(Object.keys(actual as object).sort(), where).toEqual(Object.keys(expected).sort());
    for (const [k, v] of Object.entries(expected)) expectSame((actual as Record<string, unknown>)[k], v, `${where}.${k}`);
  } else {
    expect(actual, where).toEqual(expected);
  }
}

const full = (from = start, to = end, name = HOUR.name): Promise<WindowReport> => analyzeWindow(ctx, { start: new Date(from), end: new Date(to), name });

describe('merge', () => {
  it('merge(collect(a), collect(b)) equals collect(a ∪ b), bucket for bucket, at an unaligned split', async () => {
    const cut = start + 1_397_123;
    const whole = await collect(ctx, { start, end });
    const merged = mergeRaw([await collect(ctx, { start, end: cut }), await collect(ctx, { start: cut, end })], { start, end });
    expect(whole.groups.length).toBeGreaterThanOrEqual(2);
    const byKey = (w: typeof whole) => Object.fromEntries(w.groups.map((g) => [`${g.model.version}/${g.model.role}`, g]));
    expectSame(byKey(merged), byKey(whole), 'groups');
    expectSame(merged.rejected, whole.rejected, 'rejected');
    expectSame(finish(ctx, merged, HOUR.name), finish(ctx, whole, HOUR.name));
  });

  it('the window merged from 12 slices equals the full pass', async () => {
    const store = new SliceStore(ctx, { intervalMs: INTERVAL, windows: [HOUR], lateHorizonMs: INTERVAL });
    const stats = await store.update(end);
    expect(stats.collected).toBe(12);
    expectSame(store.report(end, HOUR), await full());
  });
});

describe('late data', () => {
  it('late feedback: the slices the Joiner touched get their labeled part collected again', async () => {
    const store = new SliceStore(ctx, { intervalMs: INTERVAL, windows: [HOUR], lateHorizonMs: INTERVAL });
    await store.update(end);
    await joiner.clearPending(Infinity);
    // A later feedback flips the label of a prediction near the start of the window (outside any late horizon).
    const target = fixture.predictions.find((p) => Date.parse(p.time) >= start && Date.parse(p.time) < start + INTERVAL && fixture.feedback.some((f) => f.prediction_id === p.id))!;
    const last = fixture.feedback.filter((f) => f.prediction_id === target.id).sort((a, b) => a.time.localeCompare(b.time)).at(-1)!;
    const flipped = last.true_label === fixture.positive_label ? 'benign' : fixture.positive_label;
    const before = store.report(end, HOUR);
    await index(client, prefix, [feedbackEvent({ prediction_id: target.id, true_label: flipped, time: new Date(end + 60_000).toISOString() })]);
    expect((await joiner.run()).joined).toBe(1);
    expect(joiner.pendingSlices()).toEqual([Math.floor(Date.parse(target.time) / INTERVAL) * INTERVAL]);

    // Without the Joiner's word the slice is stale (the census only sees predictions)...
    expect((await store.update(end)).relabeled).toBe(0);
    const now = await full();
    const group = (r: WindowReport) => r.versions.find((v) => v.model.version === target.version && v.model.role === target.role)!;
    expect(group(now).quality.confusion).not.toEqual(group(before).quality.confusion);
    expect(group(store.report(end, HOUR)).quality.confusion).toEqual(group(before).quality.confusion);
    // ...with it, the slice is equal to the full pass again.
    expect((await store.update(end, { pending: joiner.pendingSlices() })).relabeled).toBe(1);
    await joiner.clearPending(end);
    expect(joiner.pendingSlices()).toEqual([]);
    expectSame(store.report(end, HOUR), now);
  });

  it('late predictions and warnings: the census re-collects changed slices within the horizon; after an outage, from where it says', async () => {
    const store = new SliceStore(ctx, { intervalMs: INTERVAL, windows: [HOUR], lateHorizonMs: 2 * INTERVAL });
    await store.update(end);
    const late = (minutesBeforeEnd: number, i: number) =>
      predictionEvent({ ...fixture.predictions[i]!, id: `late-${minutesBeforeEnd}-${i}`, time: new Date(end - minutesBeforeEnd * 60_000).toISOString() }, fixture.feature_names);
    // Within the horizon (the last two slices): found and collected at the same tick.
    await index(client, prefix, [late(3, 0), late(7, 1), rejectedEvent({ time: new Date(end - 2 * 60_000).toISOString(), code: 'missing_feature', field: 'features.mean_radius' })]);
    const inside = await store.update(end);
    expect(inside.collected).toBe(2);
    expectSame(store.report(end, HOUR), await full());

    // Older than the horizon: not seen by a normal tick...
    await index(client, prefix, [late(50, 2)]);
    expect((await store.update(end)).collected).toBe(0);
    const truth = await full();
    const count = (r: WindowReport) => r.versions.reduce((a, v) => a + v.quality.count, 0);
    expect(count(store.report(end, HOUR))).toBe(count(truth) - 1);
    // ...but by the re-check the service runs after an outage or a restart.
    const rechecked = await store.update(end, { checkFrom: end - 60 * 60_000 });
    expect(rechecked).toMatchObject({ collected: 1, checkedFrom: start });
    expectSame(store.report(end, HOUR), truth);
  });
});

describe('memory and the persisted copy', () => {
  it('keeps only the slices of the longest window, in memory and on disk, and reuses them after a restart', async () => {
    const dir = tmp();
    const quarter = { name: '15m', ms: 15 * 60_000 };
    const store = new SliceStore(ctx, { intervalMs: INTERVAL, windows: [{ name: '10m', ms: 10 * 60_000 }, quarter], lateHorizonMs: INTERVAL, dir });
    for (let t = start + quarter.ms; t <= end; t += INTERVAL) {
      await store.update(t);
      expect(store.size).toBe(3);
      const files = readdirSync(dir).map((f) => Number(f.replace('.json', '')));
      expect(files.length).toBeLessThanOrEqual(3);
      for (const s of files) expect(s).toBeGreaterThanOrEqual(t - quarter.ms);
    }
    const restarted = new SliceStore(ctx, { intervalMs: INTERVAL, windows: [quarter], lateHorizonMs: INTERVAL, dir });
    expect(restarted.size).toBe(readdirSync(dir).length);
    expect((await restarted.update(end)).collected).toBe(0);
    expectSame(restarted.report(end, quarter), await full(end - quarter.ms, end, quarter.name));
  });

  it('refuses a window that is not a multiple of the tick, naming the variable', () => {
    expect(() => new SliceStore(ctx, { intervalMs: 60_000, windows: [{ name: '90s', ms: 90_000 }], lateHorizonMs: 60_000 })).toThrow(/MLMON_ANALYZER_WINDOWS: 90s/);
  });
});
