import type { ModelKey } from './context.js';
import { rangesFor, type Reference, type ReferenceDistribution } from './reference.js';
import type { OodSums } from './judgment/reconstruction.js';
import { addOodSums, cloneCbpe, deserializeCbpe, emptyOodSums, mergeCbpe, serializeCbpe, type RawCbpe } from './judgment/sums.js';

/** The score histogram's bins: `00-10` … `90-100` (percent), in the order RawGroup.deciles counts them. */
export const SCORE_DECILES = 10;
export const SCORE_DECILE_KEYS = Array.from({ length: SCORE_DECILES }, (_, i) => `${String(i * 10).padStart(2, '0')}-${(i + 1) * 10}`);

/**
 * The raw aggregated buckets of a time range (a tick's slice, or a whole
 * window): everything the reported metrics are computed from, and nothing that
 * is not additive. Two ranges that do not overlap merge into the buckets of
 * their union by adding counts and sums (min and max combine), which is what
 * lets the service keep one slice per tick and answer every window from them.
 */
export interface RawLabeled {
  count: number;
  tp: number;
  fp: number;
  tn: number;
  fn: number;
  logLossSum: number;
  brierSum: number;
  /** ROC AUC histograms of the logit, per true class: bin key → count. */
  logitPos: Map<number, number>;
  logitNeg: Map<number, number>;
  /** A shadow's labeled pairs, per active version it shadowed. */
  paired?: Map<string, RawPairedLabeled>;
}

/** A shadow's pairs with one active version (paired.ts): counts, a sum, and the latency difference's bucket counts. */
export interface RawPaired {
  pairs: number;
  agree: number;
  scoreDiffSum: number;
  latency: Uint32Array;
}

/** Labeled pairs: both right or wrong, and McNemar's discordant b (only the active right) and c (only the shadow right). */
export interface RawPairedLabeled {
  n: number;
  activeCorrect: number;
  shadowCorrect: number;
  b: number;
  c: number;
}

export interface RawGroup {
  model: ModelKey;
  count: number;
  scoreSum: number;
  /** ±Infinity when the range holds no prediction of the group. */
  scoreMin: number;
  scoreMax: number;
  positive: number;
  /** Counts per score decile, in SCORE_DECILE_KEYS order. */
  deciles: number[];
  /** Predictions with any feature outside the training range. */
  ood: number;
  /** Per reference feature (in `featureNames` order): counts of the range buckets over its boundaries. */
  features: Uint32Array[];
  /** The same for the score, when the reference has this version's scores. */
  scoreRanges?: Uint32Array;
  labeled: RawLabeled;
  /** CBPE's score cells (judgment/sums.ts): none for a version without reference.json, null where merged parts disagree. */
  cbpe?: RawCbpe | null;
  /** The replicas' OOD scores: how many predictions carry one, their sum and sum of squares, how many are flagged. */
  oodScores: OodSums;
  /** A shadow's pairs, per active version it shadowed. */
  paired?: Map<string, RawPaired>;
}

export interface RawRejected {
  total: number;
  byFeature: Map<string, { missing: number; invalid: number }>;
}

export interface RawWindow {
  start: number;
  end: number;
  groups: RawGroup[];
  rejected: RawRejected;
}

export const groupKey = (m: ModelKey) => `${m.name}\u0000${m.version}\u0000${m.role}`;

export const emptyLabeled = (): RawLabeled => ({ count: 0, tp: 0, fp: 0, tn: 0, fn: 0, logLossSum: 0, brierSum: 0, logitPos: new Map(), logitNeg: new Map() });

/** The raw buckets of a group without predictions in a range: what a window reports for a version that served only outside it. */
export function emptyGroup(reference: Reference, m: ModelKey): RawGroup {
  const zeros = (d: ReferenceDistribution) => new Uint32Array(rangesFor(d).length);
  const scoreRef = reference.scores.get(m.version);
  return {
    model: m,
    count: 0,
    scoreSum: 0,
    scoreMin: Infinity,
    scoreMax: -Infinity,
    positive: 0,
    deciles: SCORE_DECILE_KEYS.map(() => 0),
    ood: 0,
    features: reference.featureNames.map((f) => zeros(reference.features.get(f)!)),
    ...(scoreRef ? { scoreRanges: zeros(scoreRef) } : {}),
    labeled: emptyLabeled(),
    oodScores: emptyOodSums(),
  };
}

function addMap(into: Map<number, number>, from: Map<number, number>): void {
  for (const [k, v] of from) into.set(k, (into.get(k) ?? 0) + v);
}

function addCounts(into: Uint32Array, b: Uint32Array): void {
  if (into.length !== b.length) throw new Error(`cannot merge range buckets of different boundaries (${into.length} and ${b.length})`);
  for (let i = 0; i < b.length; i++) into[i]! += b[i]!;
}

/** Adds each key's parts into `into`'s (cloned when new, so merge never shares what a slice holds). */
function addKeyed<T>(into: Map<string, T>, from: Map<string, T> | undefined, add: (a: T, b: T) => void, clone: (t: T) => T): void {
  for (const [k, v] of from ?? []) {
    const known = into.get(k);
    if (known) add(known, v);
    else into.set(k, clone(v));
  }
}

function addPairedLabeled(a: RawPairedLabeled, b: RawPairedLabeled): void {
  a.n += b.n;
  a.activeCorrect += b.activeCorrect;
  a.shadowCorrect += b.shadowCorrect;
  a.b += b.b;
  a.c += b.c;
}

function addPaired(a: RawPaired, b: RawPaired): void {
  a.pairs += b.pairs;
  a.agree += b.agree;
  a.scoreDiffSum += b.scoreDiffSum;
  addCounts(a.latency, b.latency);
}

const clonePaired = (p: RawPaired): RawPaired => ({ ...p, latency: new Uint32Array(p.latency) });

function addLabeled(into: RawLabeled, l: RawLabeled): void {
  into.count += l.count;
  into.tp += l.tp;
  into.fp += l.fp;
  into.tn += l.tn;
  into.fn += l.fn;
  into.logLossSum += l.logLossSum;
  into.brierSum += l.brierSum;
  addMap(into.logitPos, l.logitPos);
  addMap(into.logitNeg, l.logitNeg);
  if (l.paired) addKeyed((into.paired ??= new Map()), l.paired, addPairedLabeled, (p) => ({ ...p }));
}

function cloneGroup(g: RawGroup): RawGroup {
  return {
    ...g,
    deciles: [...g.deciles],
    features: g.features.map((f) => new Uint32Array(f)),
    ...(g.scoreRanges ? { scoreRanges: new Uint32Array(g.scoreRanges) } : {}),
    labeled: {
      ...g.labeled,
      logitPos: new Map(g.labeled.logitPos),
      logitNeg: new Map(g.labeled.logitNeg),
      ...(g.labeled.paired ? { paired: new Map([...g.labeled.paired].map(([k, p]) => [k, { ...p }])) } : {}),
    },
    ...(g.paired ? { paired: new Map([...g.paired].map(([k, p]) => [k, clonePaired(p)])) } : {}),
    ...(g.cbpe !== undefined ? { cbpe: g.cbpe && cloneCbpe(g.cbpe) } : {}),
    oodScores: { ...g.oodScores },
  };
}

/** Adds `g` into `into` (a clone that merge owns). */
function accumulate(into: RawGroup, g: RawGroup): void {
  into.count += g.count;
  into.scoreSum += g.scoreSum;
  into.scoreMin = Math.min(into.scoreMin, g.scoreMin);
  into.scoreMax = Math.max(into.scoreMax, g.scoreMax);
  into.positive += g.positive;
  g.deciles.forEach((c, i) => (into.deciles[i]! += c));
  into.ood += g.ood;
  g.features.forEach((f, i) => addCounts(into.features[i]!, f));
  if (into.scoreRanges && g.scoreRanges) addCounts(into.scoreRanges, g.scoreRanges);
  addLabeled(into.labeled, g.labeled);
  const cbpe = mergeCbpe(into.cbpe, g.cbpe);
  if (cbpe === undefined) delete into.cbpe;
  else into.cbpe = cbpe;
  addOodSums(into.oodScores, g.oodScores);
  if (g.paired) addKeyed((into.paired ??= new Map()), g.paired, addPaired, clonePaired);
}

/**
 * The raw buckets of the union of non-overlapping ranges. Every field is a
 * count or a sum, so this is exact for the counts; the float sums only change
 * by the order of additions (far below the 1e-9 the results are held to).
 */
export function mergeRaw(parts: RawWindow[], range: { start: number; end: number }): RawWindow {
  const groups = new Map<string, RawGroup>();
  const byFeature = new Map<string, { missing: number; invalid: number }>();
  let total = 0;
  for (const p of parts) {
    for (const g of p.groups) {
      const k = groupKey(g.model);
      const known = groups.get(k);
      if (known) accumulate(known, g);
      else groups.set(k, cloneGroup(g));
    }
    total += p.rejected.total;
    for (const [f, e] of p.rejected.byFeature) {
      const into = byFeature.get(f) ?? { missing: 0, invalid: 0 };
      byFeature.set(f, { missing: into.missing + e.missing, invalid: into.invalid + e.invalid });
    }
  }
  return { ...range, groups: [...groups.values()], rejected: { total, byFeature } };
}

/** JSON for the persisted copy: typed arrays as base64 of their bytes, maps as entry lists. */
export function serializeRaw(w: RawWindow): unknown {
  const b64 = (a: Uint32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
  return {
    ...w,
    groups: w.groups.map((g) => ({
      ...g,
      scoreMin: g.scoreMin === Infinity ? null : g.scoreMin,
      scoreMax: g.scoreMax === -Infinity ? null : g.scoreMax,
      features: g.features.map(b64),
      ...(g.scoreRanges ? { scoreRanges: b64(g.scoreRanges) } : {}),
      labeled: { ...g.labeled, logitPos: [...g.labeled.logitPos], logitNeg: [...g.labeled.logitNeg], ...(g.labeled.paired ? { paired: [...g.labeled.paired] } : {}) },
      ...(g.paired ? { paired: [...g.paired].map(([k, p]) => [k, { ...p, latency: b64(p.latency) }]) } : {}),
      ...(g.cbpe !== undefined ? { cbpe: serializeCbpe(g.cbpe) } : {}),
    })),
    rejected: { total: w.rejected.total, byFeature: [...w.rejected.byFeature] },
  };
}

type Serialized = ReturnType<typeof JSON.parse>;

export function deserializeRaw(o: Serialized): RawWindow {
  const u32 = (s: string) => {
    const buf = Buffer.from(s, 'base64');
    // Copied into a fresh, aligned buffer: Buffer.from may hand out a slice of a shared pool.
    return new Uint32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  };
  return {
    start: o.start,
    end: o.end,
    groups: (o.groups as Serialized[]).map((g) => ({
      ...g,
      scoreMin: g.scoreMin ?? Infinity,
      scoreMax: g.scoreMax ?? -Infinity,
      features: (g.features as string[]).map(u32),
      ...(g.scoreRanges ? { scoreRanges: u32(g.scoreRanges) } : {}),
      labeled: {
        ...g.labeled,
        logitPos: new Map(g.labeled.logitPos),
        logitNeg: new Map(g.labeled.logitNeg),
        ...(g.labeled.paired ? { paired: new Map(g.labeled.paired) } : {}),
      },
      ...(g.paired ? { paired: new Map((g.paired as Array<[string, Serialized]>).map(([k, p]) => [k, { ...p, latency: u32(p.latency) }])) } : {}),
      ...(g.cbpe !== undefined ? { cbpe: deserializeCbpe(g.cbpe) } : {}),
    })),
    rejected: { total: o.rejected.total, byFeature: new Map(o.rejected.byFeature) },
  };
}
