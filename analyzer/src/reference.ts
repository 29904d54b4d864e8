import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { countAtMost, nextFloatUp } from './stats.js';

const histogram = z.object({ edges: z.array(z.number()).min(2) });
const distribution = z.object({ histogram, sample: z.array(z.number()).min(1) });
const profileSchema = z.object({
  name: z.string(),
  feature_names: z.array(z.string().min(1)).min(1),
  positive_label: z.string().min(1),
  features: z.record(z.string(), distribution),
  scores: z.record(z.string(), distribution),
});

/**
 * One reference distribution prepared for range aggregations. Elasticsearch
 * stores features and scores as float32, so the reference values and edges are
 * rounded to float32 as well: a window value equal to a training value then
 * compares equal, as it would in the training data.
 */
export interface ReferenceDistribution {
  /** Sorted unique float32 values of the reference sample, and how many sample values are <= each. */
  values: number[];
  cumulative: number[];
  n: number;
  /** PSI bin edges: [e0, e1) ... [e_{k-1}, e_k], with underflow and overflow around them. */
  edges: number[];
  min: number;
  max: number;
  /** Range-aggregation boundaries: every count(< b) the statistics need, sorted. */
  boundaries: number[];
}

export interface Reference {
  name: string;
  positiveLabel: string;
  featureNames: string[];
  features: Map<string, ReferenceDistribution>;
  /** By model version; a version trained after the profile has none (no score drift for it). */
  scores: Map<string, ReferenceDistribution>;
}

function prepare(d: z.infer<typeof distribution>): ReferenceDistribution {
  const sorted = d.sample.map(Math.fround).sort((a, b) => a - b);
  const values: number[] = [];
  const cumulative: number[] = [];
  sorted.forEach((v, i) => {
    if (values.at(-1) === v) cumulative[cumulative.length - 1] = i + 1;
    else {
      values.push(v);
      cumulative.push(i + 1);
    }
  });
  const edges = d.histogram.edges.map(Math.fround);
  const boundaries = [...new Set([...edges, nextFloatUp(edges.at(-1)!), ...values, ...values.map(nextFloatUp)])].sort((a, b) => a - b);
  return { values, cumulative, n: sorted.length, edges, min: values[0]!, max: values.at(-1)!, boundaries };
}

export function loadReference(file: string): Reference {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`reference profile ${file}: ${(err as Error).message}`);
  }
  const parsed = profileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`reference profile ${file}: ${issue.path.join('.')}: ${issue.message} (regenerate it with model/train.py)`);
  }
  const p = parsed.data;
  const features = new Map<string, ReferenceDistribution>();
  for (const name of p.feature_names) {
    const f = p.features[name];
    if (!f) throw new Error(`reference profile ${file}: features.${name} is missing`);
    features.set(name, prepare(f));
  }
  const scores = new Map(Object.entries(p.scores).map(([version, s]) => [version, prepare(s)] as const));
  return { name: p.name, positiveLabel: p.positive_label, featureNames: p.feature_names, features, scores };
}

/** count(value < b) for every boundary, from the buckets of a range aggregation over `boundaries`. */
export function countsBelow(ref: ReferenceDistribution, bucketCounts: ArrayLike<number>): Map<number, number> {
  // Bucket 0 is (-inf, b0); bucket k is [b_{k-1}, b_k); the last is [b_last, +inf).
  const below = new Map<number, number>();
  let running = 0;
  ref.boundaries.forEach((b, k) => {
    running += bucketCounts[k]!;
    below.set(b, running);
  });
  return below;
}

/** The same counts from values in hand (a reference chunk), as the range aggregation would return them. */
export function countsBelowValues(ref: ReferenceDistribution, values: ArrayLike<number>): Map<number, number> {
  const sorted = Float64Array.from(values, Math.fround).sort();
  const below = new Map<number, number>();
  let i = 0;
  for (const b of ref.boundaries) {
    while (i < sorted.length && sorted[i]! < b) i++;
    below.set(b, i);
  }
  return below;
}

/** The reference sample itself, sorted (float32), from its distinct values and their cumulative counts. */
export function referenceSample(ref: ReferenceDistribution): Float64Array {
  const out = new Float64Array(ref.n);
  let from = 0;
  ref.values.forEach((v, j) => {
    out.fill(v, from, ref.cumulative[j]!);
    from = ref.cumulative[j]!;
  });
  return out;
}

export const rangesFor = (ref: ReferenceDistribution) => rangesOf(ref.boundaries);

/** The ranges of a range aggregation over sorted boundaries: (-inf, b0), [b0, b1), ..., [b_last, +inf). */
export function rangesOf(b: number[]): Array<{ from?: number; to?: number }> {
  return [{ to: b[0]! }, ...b.slice(1).map((to, k) => ({ from: b[k]!, to })), { from: b.at(-1)! }];
}

/** PSI bin counts (underflow, bins, overflow) of a window, from its counts below the boundaries. */
export function binCounts(ref: ReferenceDistribution, below: Map<number, number>, total: number): number[] {
  const e = ref.edges;
  const at = (x: number) => below.get(x)!;
  const inner = e.slice(0, -1).map((lo, i) => (i === e.length - 2 ? at(nextFloatUp(e.at(-1)!)) : at(e[i + 1]!)) - at(lo));
  return [at(e[0]!), ...inner, total - at(nextFloatUp(e.at(-1)!))];
}

/** The reference sample's own bin counts on its edges. */
export function referenceBinCounts(ref: ReferenceDistribution): number[] {
  // Values are unique and sorted: the sample values below x are those up to the last distinct value below it.
  const count = (x: number, strict: boolean) => {
    const k = countAtMost(ref.values, x, strict);
    return k === 0 ? 0 : ref.cumulative[k - 1]!;
  };
  const countLE = (x: number) => count(x, false);
  const countLT = (x: number) => count(x, true);
  const e = ref.edges;
  const inner = e.slice(0, -1).map((lo, i) => (i === e.length - 2 ? countLE(e.at(-1)!) : countLT(e[i + 1]!)) - countLT(lo));
  return [countLT(e[0]!), ...inner, ref.n - countLE(e.at(-1)!)];
}

/**
 * The exact two-sample KS statistic sup|F_w - F_r|. Both are step functions;
 * between two reference values F_r is flat and F_w rises, so the supremum is
 * reached at a reference value or just below the next one: count(< r) and
 * count(<= r) of the window at each reference value r are all it takes.
 */
export function ksStatistic(ref: ReferenceDistribution, below: Map<number, number>, total: number): number {
  let d = 0;
  let prevRef = 0;
  ref.values.forEach((r, j) => {
    const fwLeft = below.get(r)! / total;
    const fw = below.get(nextFloatUp(r))! / total;
    const fr = ref.cumulative[j]! / ref.n;
    d = Math.max(d, Math.abs(fwLeft - prevRef), Math.abs(fw - fr));
    prevRef = fr;
  });
  return d;
}
