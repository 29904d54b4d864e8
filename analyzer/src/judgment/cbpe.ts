import { countAtMost } from '../stats.js';
import { fitIsotonic, calibrate, knotIndex, slope, type Isotonic } from './isotonic.js';
import { argsortNumpy, stratifiedShuffleSplit } from './numpy-compat.js';
import { chunkBounds, stdBand, type Band } from './thresholds.js';

/**
 * Confidence-based performance estimation (CBPE) for a binary classifier, with
 * the semantics of NannyML 0.13.1 (analyzer/README.md, "Judgments"): fitted on
 * the holdout a version scored (its reference.json), then applied to a window
 * without labels, from counts and sums only.
 *
 * The calibrated score c(s) is piecewise linear in the raw score s between the
 * calibrator's knots, so Σc over the scores of a cell that lies between two
 * knots is count·y_j + slope_j·(Σs − count·x_j): the window's expected
 * confusion matrix needs, per predicted label, only the count and the sum of
 * scores in each cell of a range aggregation whose boundaries include every
 * knot. ROC AUC needs the order of the rows: the cells are refined with the
 * logit bins of the realized AUC, pairs within one cell count half, and the
 * most that can be off is reported beside it.
 */

export const CBPE_METRICS = ['accuracy', 'precision', 'recall', 'f1', 'roc_auc'] as const;
export type CbpeMetric = (typeof CBPE_METRICS)[number];
export type Calibration = 'auto' | 'always' | 'never';

/** The scored holdout: 1 = the positive label. */
export interface CbpeReference {
  y_true: ArrayLike<number>;
  y_pred_proba: ArrayLike<number>;
  y_pred: ArrayLike<number>;
}

export interface CbpeModel {
  calibrated: boolean;
  /** Expected calibration error of the raw and the calibrated scores on NannyML's 10 held-out folds, when they can be split. */
  eceBefore?: number;
  eceAfter?: number;
  calibrator?: Isotonic;
  referenceRows: number;
  referenceChunkSize: number;
  /** Per metric: the reference's standard deviation and share (sampling error = sd / sqrt(n · share)). */
  sampling: Record<CbpeMetric, { sd: number; fraction: number }>;
  thresholds: Record<CbpeMetric, Band>;
  /** Score boundaries of the window's cells, sorted float32 values; cell k is [b_{k-1}, b_k) (open at both ends). */
  boundaries: number[];
  /** Per cell: the calibrator's knot interval (-1 below the first knot; scores lie in [0, 1]), and how much c can vary inside it. */
  cellKnot: Int32Array;
  cellSpread: Float64Array;
}

/** A window's cells: per cell the predictions and the sum of their scores, all and those predicted positive. */
export interface CbpeCells {
  count: ArrayLike<number>;
  sum: ArrayLike<number>;
  positiveCount: ArrayLike<number>;
  positiveSum: ArrayLike<number>;
}

export interface MetricEstimate {
  value: number;
  samplingError: number;
  lower: number;
  upper: number;
  thresholdLower?: number;
  thresholdUpper?: number;
  alert: boolean;
}

export type CbpeEstimate = Record<CbpeMetric, MetricEstimate> & { count: number; rocAucMaxError: number };

export interface CbpeOptions {
  calibration: Calibration;
  /** Reference chunks for the thresholds (NannyML's default chunker: 10). */
  chunks: number;
}

/**
 * The ROC AUC cells' width on the logit scale, over logits ±16 (scores 1e-7 to 1 − 1e-7; float32 scores beyond fall
 * in the two end cells). 1/64 keeps the reported bound below 1e-3 on the fixtures' windows (it was at most 1.1e-4).
 */
export const CELL_LOGIT_BIN = 2 ** -6;

const mean = (a: ArrayLike<number>) => Array.from(a).reduce((s, v) => s + v, 0) / a.length;
const std = (a: number[]) => {
  if (a.length === 0) return NaN;
  const m = mean(a);
  return Math.sqrt(a.reduce((s, v) => s + (v - m) ** 2, 0) / a.length);
};
const repeat = (value: number, times: number) => new Array<number>(times).fill(value);

/** ROC AUC with tied scores counted half (scikit-learn's roc_auc_score); NaN with one class. */
export function rocAuc(y: ArrayLike<number>, s: ArrayLike<number>): number {
  const order = Array.from({ length: s.length }, (_, i) => i).sort((a, b) => s[a]! - s[b]!);
  let positives = 0;
  let rankSum = 0;
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && s[order[j + 1]!] === s[order[i]!]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) {
      if (y[order[k]!] !== 1) continue;
      positives += 1;
      rankSum += rank;
    }
    i = j + 1;
  }
  const negatives = s.length - positives;
  if (positives === 0 || negatives === 0) return NaN;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** The metric as the labels give it, on raw scores: what the reference chunks' thresholds are made of. */
function realized(metric: CbpeMetric, y: number[], yPred: number[], s: number[]): number {
  if (y.length === 0) return NaN;
  if (metric === 'accuracy') return y.filter((v, i) => v === yPred[i]).length / y.length;
  if (metric === 'roc_auc') return rocAuc(y, s);
  // NannyML leaves precision, recall and F1 undefined on a chunk with one class of truth or of prediction.
  if (new Set(y).size <= 1 || new Set(yPred).size <= 1) return NaN;
  let tp = 0;
  let fp = 0;
  let fn = 0;
  y.forEach((v, i) => {
    if (v === 1 && yPred[i] === 1) tp++;
    else if (v === 0 && yPred[i] === 1) fp++;
    else if (v === 1 && yPred[i] === 0) fn++;
  });
  if (metric === 'precision') return tp / (tp + fp);
  if (metric === 'recall') return tp / (tp + fn);
  return (2 * tp) / (2 * tp + fp + fn);
}

/** The reference's share of each metric's population and its Bernoulli-style spread (NannyML's sampling error components). */
function samplingComponents(metric: CbpeMetric, y: number[], yPred: number[], s: number[]): { sd: number; fraction: number } {
  const n = y.length;
  let tp = 0;
  let fp = 0;
  let fn = 0;
  y.forEach((v, i) => {
    if (v === yPred[i] && yPred[i] === 1) tp++;
    else if (v !== yPred[i] && yPred[i] === 1) fp++;
    else if (v !== yPred[i] && yPred[i] === 0) fn++;
  });
  switch (metric) {
    case 'accuracy':
      return { sd: std(y.map((v, i) => (v === yPred[i] ? 1 : 0))), fraction: 1 };
    case 'precision':
      return { sd: std([...repeat(1, tp), ...repeat(0, fp)]), fraction: yPred.reduce((a, b) => a + b, 0) / n };
    case 'recall':
      return { sd: std([...repeat(1, tp), ...repeat(0, fn)]), fraction: y.reduce((a, b) => a + b, 0) / n };
    case 'f1': {
      const m = tp + fp + fn;
      if (m === 0) return { sd: NaN, fraction: 0 };
      const kappa = m / (tp + 0.5 * (fp + fn));
      return { sd: std([...repeat(kappa, tp), ...repeat(0, fp + fn)]), fraction: m / n };
    }
    case 'roc_auc': {
      // The minority class is the positive one; negatives ranked below each positive, over the negatives.
      const flip = mean(y) > 0.5;
      const yy = flip ? y.map((v) => 1 - v) : y;
      const ss = flip ? s.map((v) => 1 - v) : s;
      const order = argsortNumpy(ss);
      const positions: number[] = [];
      order.forEach((row, rank) => {
        // NannyML keeps the nonzero values of y·rank: a positive ranked first is dropped.
        if (yy[row] === 1 && rank > 0) positions.push(rank);
      });
      const positives = yy.reduce((a, b) => a + b, 0);
      const negatives = n - positives;
      return { sd: std(positions.map((r, i) => (r - i) / negatives)), fraction: positives / n };
    }
  }
}

/** NannyML's ECE: rows sorted by score (numpy's argsort), equal-count bins, weighted |mean score − mean label|. */
function expectedCalibrationError(y: number[], s: number[], bins = 10): number {
  const n = s.length;
  let count = bins;
  if (n <= 2 * count) {
    count = Math.floor(n / 2);
    if (count < 2) throw new Error(`calibration: ${n} held-out rows cannot make 2 bins`);
  }
  const width = Math.floor(n / count);
  const edges: number[] = [];
  for (let e = 0; e <= n; e += width) edges.push(e);
  edges[edges.length - 1] = n;
  const order = argsortNumpy(s);
  let ece = 0;
  for (let b = 0; b + 1 < edges.length; b++) {
    let ps = 0;
    let ys = 0;
    for (let k = edges[b]!; k < edges[b + 1]!; k++) {
      ps += s[order[k]!]!;
      ys += y[order[k]!]!;
    }
    const size = edges[b + 1]! - edges[b]!;
    ece += (size / n) * Math.abs(ps / size - ys / size);
  }
  return ece;
}

/** Both ECEs of NannyML's decision (10 stratified 90/10 splits, an isotonic fit on each train part), or undefined when the reference cannot be split. */
function calibrationErrors(y: number[], s: number[]): { before: number; after: number } | undefined {
  const counts = [0, 1].map((c) => y.filter((v) => v === c).length);
  if (Math.min(...counts) < 2 || y.length - Math.ceil(0.1 * y.length) < 2 || Math.ceil(0.1 * y.length) < 2) return undefined;
  const ys: number[] = [];
  const ps: number[] = [];
  const cs: number[] = [];
  for (const { train, test } of stratifiedShuffleSplit(y)) {
    const f = fitIsotonic(
      train.map((i) => s[i]!),
      train.map((i) => y[i]!),
    );
    for (const i of test) {
      ys.push(y[i]!);
      ps.push(s[i]!);
      cs.push(calibrate(f, s[i]!));
    }
  }
  return { before: expectedCalibrationError(ys, ps), after: expectedCalibrationError(ys, cs) };
}

/** The score cell boundaries: every knot, and the logit grid of the ROC AUC, as float32 (Elasticsearch's `score`). */
function cellBoundaries(calibrator: Isotonic | undefined): number[] {
  const edges = new Set<number>();
  for (let i = -16 / CELL_LOGIT_BIN; i <= 16 / CELL_LOGIT_BIN; i++) edges.add(Math.fround(1 / (1 + Math.exp(-i * CELL_LOGIT_BIN))));
  for (const x of calibrator?.x ?? []) edges.add(x);
  return [...edges].sort((a, b) => a - b);
}

export function fitCbpe(reference: CbpeReference, o: CbpeOptions): CbpeModel {
  const n = reference.y_true.length;
  if (reference.y_pred_proba.length !== n || reference.y_pred.length !== n) throw new Error('CBPE reference: y_true, y_pred_proba and y_pred differ in length');
  const y = Array.from(reference.y_true);
  // float32: the analyzer reads scores from Elasticsearch's `float` field, so knots must be float32 values too.
  const s = Array.from(reference.y_pred_proba, Math.fround);
  const yPred = Array.from(reference.y_pred);
  if (s.some((v) => !Number.isFinite(v))) throw new Error('CBPE reference: y_pred_proba holds a value that is not a number');
  const sampling = {} as CbpeModel['sampling'];
  const thresholds = {} as CbpeModel['thresholds'];
  const bounds = chunkBounds(n, { chunks: o.chunks, keepIncomplete: true });
  for (const m of CBPE_METRICS) {
    sampling[m] = samplingComponents(m, y, yPred, s);
    const values = bounds.map(([a, b]) => realized(m, y.slice(a, b), yPred.slice(a, b), s.slice(a, b)));
    thresholds[m] = stdBand(values, { lower: 0, upper: 1 });
  }
  const ece = calibrationErrors(y, s);
  let calibrated: boolean;
  if (o.calibration !== 'auto') calibrated = o.calibration === 'always';
  // NannyML's decision: one class or an almost perfect ranking needs none; otherwise calibrate when it lowers the ECE.
  else if (new Set(y).size === 1 || rocAuc(y, s) > 0.999) calibrated = false;
  else if (!ece) throw new Error(`CBPE reference: ${n} rows with ${Math.min(...[0, 1].map((c) => y.filter((v) => v === c).length))} of one class are too few to decide on calibration`);
  else calibrated = ece.before > ece.after;
  const calibrator = calibrated ? fitIsotonic(s, y) : undefined;
  const boundaries = cellBoundaries(calibrator);
  const cells = boundaries.length + 1;
  const cellKnot = new Int32Array(cells);
  const cellSpread = new Float64Array(cells);
  for (let k = 0; k < cells; k++) {
    const lo = k === 0 ? 0 : boundaries[k - 1]!;
    const hi = k === cells - 1 ? 1 : boundaries[k]!;
    // c is continuous, so a cell whose lowest score lies in knot interval j follows that interval's line throughout.
    cellKnot[k] = calibrator ? knotIndex(calibrator, lo) : -1;
    cellSpread[k] = calibrator ? calibrate(calibrator, hi) - calibrate(calibrator, lo) : hi - lo;
  }
  return {
    calibrated,
    ...(ece ? { eceBefore: ece.before, eceAfter: ece.after } : {}),
    ...(calibrator ? { calibrator } : {}),
    referenceRows: n,
    referenceChunkSize: bounds[0]![1] - bounds[0]![0],
    sampling,
    thresholds,
    boundaries,
    cellKnot,
    cellSpread,
  };
}

/** Σ c(s) over a cell holding `count` scores summing to `sum`: exact, since c is linear on the cell. */
function calibratedSum(model: CbpeModel, cell: number, count: number, sum: number): number {
  const f = model.calibrator;
  if (!f || count === 0) return f ? 0 : sum;
  const j = model.cellKnot[cell]!;
  if (j < 0) return count * f.y[0]!;
  if (j >= f.x.length - 1) return count * f.y[f.x.length - 1]!;
  return count * f.y[j]! + slope(f, j) * (sum - count * f.x[j]!);
}

/** The five estimates of a window, with sampling error, bounds (± 3 SE, clipped to [0, 1]), thresholds and alerts. */
export function estimateCbpe(model: CbpeModel, cells: CbpeCells): CbpeEstimate {
  const k = model.boundaries.length + 1;
  if (cells.count.length !== k) throw new Error(`CBPE: ${cells.count.length} cells for a layout of ${k}`);
  let n = 0;
  let predictedPositive = 0;
  let tp = 0;
  let fn = 0;
  const c = new Float64Array(k);
  for (let a = 0; a < k; a++) {
    const count = cells.count[a]!;
    const pos = cells.positiveCount[a]!;
    n += count;
    predictedPositive += pos;
    const cPos = calibratedSum(model, a, pos, cells.positiveSum[a]!);
    const cNeg = calibratedSum(model, a, count - pos, cells.sum[a]! - cells.positiveSum[a]!);
    tp += cPos;
    fn += cNeg;
    c[a] = cPos + cNeg;
  }
  const fp = predictedPositive - tp;
  const tn = n - predictedPositive - fn;
  const orZero = (num: number, den: number) => (den === 0 ? 0 : num / den);
  // ROC AUC: a row ranks above every row of a lower cell; the pairs within a cell count half.
  const total = tp + fn;
  let area = 0;
  let maxError = 0;
  let negativesBelow = 0;
  for (let a = 0; a < k; a++) {
    const count = cells.count[a]!;
    const neg = count - c[a]!;
    area += c[a]! * negativesBelow + 0.5 * c[a]! * neg;
    // Within a cell an ordered pair is off by at most half the spread of c there, and half the cell's pairs at most.
    maxError += Math.min((0.5 * model.cellSpread[a]! * count * (count - 1)) / 2, 0.5 * c[a]! * neg);
    negativesBelow += neg;
  }
  const pairs = total * (n - total);
  const values: Record<CbpeMetric, number> = {
    accuracy: n === 0 ? NaN : (tp + tn) / n,
    precision: orZero(tp, tp + fp),
    recall: orZero(tp, tp + fn),
    f1: orZero(tp, tp + 0.5 * (fp + fn)),
    roc_auc: pairs > 0 ? area / pairs : NaN,
  };
  const out = { count: n, rocAucMaxError: pairs > 0 ? maxError / pairs : NaN } as CbpeEstimate;
  for (const m of CBPE_METRICS) {
    const value = n === 0 ? NaN : values[m];
    const { sd, fraction } = model.sampling[m];
    const se = sd / Math.sqrt(n * fraction);
    const t = model.thresholds[m];
    out[m] = {
      value,
      samplingError: se,
      lower: Math.max(0, value - 3 * se),
      upper: Math.min(1, value + 3 * se),
      ...(t.lower !== undefined ? { thresholdLower: t.lower } : {}),
      ...(t.upper !== undefined ? { thresholdUpper: t.upper } : {}),
      alert: (t.lower !== undefined && value < t.lower) || (t.upper !== undefined && value > t.upper),
    };
  }
  return out;
}

/** The cells of scored rows, as the range aggregation on the window's predictions counts them (tests, the bench's naive pass). */
export function cellsOf(model: CbpeModel, scores: ArrayLike<number>, yPred: ArrayLike<number>): CbpeCells {
  const k = model.boundaries.length + 1;
  const out = { count: new Uint32Array(k), sum: new Float64Array(k), positiveCount: new Uint32Array(k), positiveSum: new Float64Array(k) };
  for (let i = 0; i < scores.length; i++) {
    const s = Math.fround(scores[i]!);
    const cell = countAtMost(model.boundaries, s);
    out.count[cell]! += 1;
    out.sum[cell]! += s;
    if (yPred[i] === 1) {
      out.positiveCount[cell]! += 1;
      out.positiveSum[cell]! += s;
    }
  }
  return out;
}
