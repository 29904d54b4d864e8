import { countAtMost } from '../stats.js';

/**
 * NannyML's isotonic calibrator: scikit-learn's IsotonicRegression(increasing,
 * out_of_bounds='clip') as it runs on scipy's pool-adjacent-violators (Busing's
 * single-pass form) and numpy.interp. Written out because its exact tie
 * structure decides NannyML's calibration (two calibrated scores that must tie
 * do so only if every level is rounded as scipy rounds it), which no npm
 * isotonic regression promises.
 */
export interface Isotonic {
  /** Knots: the distinct scores (within 1e-15), ascending, and their fitted values. */
  x: Float64Array;
  y: Float64Array;
}

export function fitIsotonic(x: ArrayLike<number>, y: ArrayLike<number>): Isotonic {
  const n = x.length;
  if (n === 0 || y.length !== n) throw new Error(`isotonic: ${n} scores and ${y.length} labels`);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => x[a]! - x[b]! || y[a]! - y[b]!);
  // Scores closer than float64's resolution (1e-15) are one knot: the first score, the mean label, the count as weight.
  const gx: number[] = [];
  const gy: number[] = [];
  const gw: number[] = [];
  let first = x[order[0]!]!;
  let sum = 0;
  let count = 0;
  for (const i of order) {
    if (x[i]! - first >= 1e-15) {
      gx.push(first);
      gy.push(sum / count);
      gw.push(count);
      first = x[i]!;
      sum = 0;
      count = 0;
    }
    sum += y[i]!;
    count += 1;
  }
  gx.push(first);
  gy.push(sum / count);
  gw.push(count);
  return { x: Float64Array.from(gx), y: poolAdjacentViolators(gy, gw) };
}

/**
 * Pool adjacent violators in Busing's (2022) single pass, as scipy.optimize.isotonic_regression: each
 * block's value comes from running weighted sums, which fixes the last bit of every level.
 */
function poolAdjacentViolators(values: number[], weights: number[]): Float64Array {
  const xs = [...values];
  const ws = [...weights];
  const n = xs.length;
  const r = new Int32Array(n + 1);
  r[1] = 1;
  let b = 0;
  let xbPrev = xs[0]!;
  let wbPrev = ws[0]!;
  for (let i = 1; i < n; i++) {
    b += 1;
    let xb = xs[i]!;
    let wb = ws[i]!;
    if (xbPrev >= xb) {
      // A violation (ties pooled too): merge with the previous block, then absorb what still violates.
      b -= 1;
      let sb = wbPrev * xbPrev + wb * xb;
      wb += wbPrev;
      xb = sb / wb;
      while (i < n - 1 && xb >= xs[i + 1]!) {
        i += 1;
        sb += ws[i]! * xs[i]!;
        wb += ws[i]!;
        xb = sb / wb;
      }
      while (b > 0 && xs[b - 1]! >= xb) {
        b -= 1;
        sb += ws[b]! * xs[b]!;
        wb += ws[b]!;
        xb = sb / wb;
      }
    }
    xs[b] = xbPrev = xb;
    ws[b] = wbPrev = wb;
    r[b + 1] = i + 1;
  }
  const out = new Float64Array(n);
  for (let k = 0; k <= b; k++) out.fill(xs[k]!, r[k]!, r[k + 1]!);
  return out;
}

/** The knot interval j with x_j <= s < x_{j+1} (-1 below the first knot, the last index at or above the last). */
export const knotIndex = (f: Isotonic, s: number) => countAtMost(f.x, s) - 1;

/** The calibrated score: clipped to the knots' range, interpolated as numpy.interp between them. */
export function calibrate(f: Isotonic, s: number): number {
  const last = f.x.length - 1;
  if (s <= f.x[0]!) return f.y[0]!;
  if (s >= f.x[last]!) return f.y[last]!;
  const j = knotIndex(f, s);
  if (f.x[j] === s) return f.y[j]!;
  return slope(f, j) * (s - f.x[j]!) + f.y[j]!;
}

/** The calibrator's slope between knots j and j + 1. */
export const slope = (f: Isotonic, j: number) => (f.y[j + 1]! - f.y[j]!) / (f.x[j + 1]! - f.x[j]!);
