import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { stabilizedScaleIn, type Recommendation } from '../src/stabilization.js';
import type { Scaler } from '../src/backends/scaler.js';
import { alert, hook, remediatorFor, tempDir } from './support.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const at = (s: number) => new Date(T0 + s * 1000).toISOString();
const recs = (pairs: Array<[number, number]>, target = 'api'): Recommendation[] => pairs.map(([s, desired]) => ({ at: at(s), target, desired }));

/**
 * The expected values are the worked examples of HPA's scale-down
 * stabilization: KEP-853 (kubernetes/enhancements,
 * keps/sig-autoscaling/853-configurable-hpa-scale-velocity, "stabilization
 * window" example) and the rule of
 * https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/#stabilization-window:
 * "the highest recommendation within the window is used".
 */
describe('stabilizedScaleIn: the highest recommendation over the window wins', () => {
  it('KEP-853: window 600 s, a recommendation a minute, 10 replicas: recommendations 10,9,8,9,9,8,9,8,9,8 keep 10', () => {
    const history = recs([10, 9, 8, 9, 9, 8, 9, 8, 9].map((d, i) => [i * 60, d] as [number, number]));
    const out = stabilizedScaleIn({ current: 10, desired: 8, target: 'api', history, now: T0 + 9 * 60_000, windowMs: 600_000 });
    expect(out.replicas).toBe(10);
    expect(out.heldBy).toEqual({ at: at(0), target: 'api', desired: 10 });
  });

  it('KEP-853: a minute later the 10 has left the window and 7 is recommended: the highest left, 9, is the new count', () => {
    const history = recs([10, 9, 8, 9, 9, 8, 9, 8, 9, 8].map((d, i) => [i * 60, d] as [number, number]));
    const out = stabilizedScaleIn({ current: 10, desired: 7, target: 'api', history, now: T0 + 10 * 60_000, windowMs: 600_000 });
    expect(out.replicas).toBe(9);
  });

  it('window 300 s, 4 replicas: a 6 recommended 240 s ago holds them (max(6, 3, 2) = 6); 61 s later max(3, 2) = 3', () => {
    const history = recs([
      [0, 6],
      [120, 3],
    ]);
    expect(stabilizedScaleIn({ current: 4, desired: 2, target: 'api', history, now: T0 + 240_000, windowMs: 300_000 }).replicas).toBe(6);
    expect(stabilizedScaleIn({ current: 4, desired: 2, target: 'api', history: [...history, ...recs([[240, 2]])], now: T0 + 301_000, windowMs: 300_000 }).replicas).toBe(3);
  });

  it('a recommendation exactly one window old has left it (HPA keeps those strictly newer than now − window)', () => {
    const history = recs([[0, 5]]);
    expect(stabilizedScaleIn({ current: 5, desired: 4, target: 'api', history, now: T0 + 300_000, windowMs: 300_000 })).toEqual({ replicas: 4 });
    expect(stabilizedScaleIn({ current: 5, desired: 4, target: 'api', history, now: T0 + 299_999, windowMs: 300_000 }).replicas).toBe(5);
  });

  it('of equal highest recommendations the newest is named: it says when the hold ends', () => {
    const out = stabilizedScaleIn({ current: 4, desired: 3, target: 'api', history: recs([[0, 4], [60, 4], [120, 3]]), now: T0 + 180_000, windowMs: 300_000 });
    expect(out).toEqual({ replicas: 4, heldBy: { at: at(60), target: 'api', desired: 4 } });
  });

  it("another target's recommendations do not count; with no history the recommendation stands; a zero window is no stabilization", () => {
    const history = recs([[0, 9]], 'other');
    expect(stabilizedScaleIn({ current: 3, desired: 2, target: 'api', history, now: T0 + 1000, windowMs: 300_000 })).toEqual({ replicas: 2 });
    expect(stabilizedScaleIn({ current: 3, desired: 2, target: 'api', history: recs([[0, 3]]), now: T0 + 1000, windowMs: 0 })).toEqual({ replicas: 2 });
  });
});

/** A replica count in memory: the engine is a boundary here (the supervisor test scales real processes); this file tests the decisions. */
function countScaler(start: number): Scaler & { count: number } {
  const s: Scaler & { count: number } = {
    target: 'api',
    count: start,
    replicas: async () => s.count,
    scaleTo: async (n) => (s.count = n),
    restart: async () => {},
  };
  return s;
}

describe('the remediator stabilizes scale-in (in-memory replica count: a mocked engine)', () => {
  const limits = { MLMON_REMEDIATOR_COOLDOWN: '0s', MLMON_REMEDIATOR_FLAP_WINDOW: '0s', MLMON_REMEDIATOR_MAX_ACTIONS_PER_HOUR: '100', MLMON_REMEDIATOR_MIN_REPLICAS: '1', MLMON_REMEDIATOR_MAX_REPLICAS: '4' };

  it('scales out at once, then refuses every scale-in while the scale-out is within the window, naming the recommendation that holds', async () => {
    const scaler = countScaler(2);
    const r = await remediatorFor({ ...limits, MLMON_REMEDIATOR_SCALE_IN_STABILIZATION: '5m' }, { scaler });
    try {
      expect((await hook(r.url, 'scale-out', alert())).body).toMatchObject({ decision: 'executed', replicas: { before: 2, after: 3 } });
      for (let i = 0; i < 3; i++) {
        const res = await hook(r.url, 'scale-in', alert());
        expect(res.body).toMatchObject({ decision: 'refused', reason: 'stabilizing', replicas: { before: 3, after: 3 } });
        expect(res.body.detail).toMatch(/^3 replicas were recommended at .* within the scale-in stabilization window of 5m/);
      }
      // Scale-out is not stabilized: the next one goes through at once.
      expect((await hook(r.url, 'scale-out', alert())).body).toMatchObject({ decision: 'executed', replicas: { before: 3, after: 4 } });
      expect(scaler.count).toBe(4);
    } finally {
      await r.close();
    }
  });

  it('a high recommendation that moved nothing (at the maximum) holds the count up too: no timer since the last scaling would', async () => {
    const scaler = countScaler(4);
    const r = await remediatorFor({ ...limits, MLMON_REMEDIATOR_SCALE_IN_STABILIZATION: '5m' }, { scaler });
    try {
      expect((await hook(r.url, 'scale-out', alert())).body).toMatchObject({ decision: 'refused', reason: 'at_max_replicas' });
      expect((await hook(r.url, 'scale-in', alert())).body).toMatchObject({ decision: 'refused', reason: 'stabilizing' });
      expect(scaler.count).toBe(4);
    } finally {
      await r.close();
    }
  });

  it('scales in only to the highest recommendation of the window, read from the state file a restart keeps', async () => {
    const dir = tempDir('stabilization');
    const now = Date.now();
    // Window 300 s: the 4 recommended 400 s ago has left it, the 3 of 200 s ago has not.
    const recommendations = recs([
      [-400, 4],
      [-200, 3],
    ]).map((r) => ({ ...r, at: new Date(now + (Date.parse(r.at) - T0)).toISOString() }));
    writeFileSync(path.join(dir, 'state.json'), JSON.stringify({ executions: {}, acted: [], recent: [], recommendations }));
    const scaler = countScaler(4);
    const settings = { ...limits, MLMON_LOG_DIR: dir, MLMON_REMEDIATOR_SCALE_IN_STABILIZATION: '5m' };
    const a = await remediatorFor(settings, { scaler });
    // Two replicas fewer wanted (4 − 2 = 2): the 3 in the window wins.
    expect((await hook(a.url, 'scale-in', alert({ step: 2 }))).body).toMatchObject({ decision: 'executed', replicas: { before: 4, after: 3 } });
    await a.close();
    const b = await remediatorFor(settings, { scaler });
    try {
      // After a restart the 3 is still there: 2 wanted, 3 stay.
      expect((await hook(b.url, 'scale-in', alert())).body).toMatchObject({ decision: 'refused', reason: 'stabilizing', replicas: { before: 3, after: 3 } });
      expect(scaler.count).toBe(3);
    } finally {
      await b.close();
    }
  });
});

describe('a scale-in is judged only on a window traffic covered', () => {
  const limits = { MLMON_REMEDIATOR_COOLDOWN: '0s', MLMON_REMEDIATOR_FLAP_WINDOW: '0s', MLMON_REMEDIATOR_SCALE_IN_STABILIZATION: '0s' };
  const window = (first: string) => ({ window: '15m', scheduled_time: '2026-12-06T15:00Z', first_prediction: first });

  it.each([
    // Issue 22: 20 s into traffic after `npm start`, the 15-minute window was mostly the idle minutes before.
    ['traffic began 20 s before the tick (a stack just started)', '2026-12-06T14:59:40.000Z', 'refused'],
    ['traffic began just after the window\'s first tenth', '2026-12-06T14:46:30.001Z', 'refused'],
    ['no prediction in the window', '', 'refused'],
    ['traffic from the window\'s first tenth (90 s)', '2026-12-06T14:46:30.000Z', 'executed'],
    ['traffic from its start', '2026-12-06T14:45:00.000Z', 'executed'],
  ])('%s: %s', async (_name, first, decision) => {
    const scaler = countScaler(3);
    const r = await remediatorFor(limits, { scaler });
    try {
      const res = await hook(r.url, 'scale-in', alert(window(first)));
      expect(res.body.decision).toBe(decision);
      if (decision === 'refused') {
        expect(res.body).toMatchObject({ reason: 'window_not_covered', replicas: { before: 3, after: 3 } });
        expect(res.body.detail).toMatch(/the 15m window from 2026-12-06T14:45:00.000Z is not covered by traffic/);
      }
      expect(scaler.count).toBe(decision === 'executed' ? 2 : 3);
    } finally {
      await r.close();
    }
  });

  it('an alert whose window cannot be read is refused, saying which field', async () => {
    const r = await remediatorFor(limits, { scaler: countScaler(3) });
    try {
      const res = await hook(r.url, 'scale-in', alert({ window: 'soon', scheduled_time: '2026-12-06T15:00Z', first_prediction: '' }));
      expect(res.body).toMatchObject({ decision: 'refused', reason: 'window_not_covered' });
      expect(res.body.detail).toMatch(/^the alert's window cannot be read \(window: must be a duration/);
    } finally {
      await r.close();
    }
  });
});
