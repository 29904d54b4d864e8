import { binCounts, countsBelowValues, ksStatistic, referenceBinCounts, referenceSample, type Reference, type ReferenceDistribution } from '../reference.js';
import { psi } from '../stats.js';
import { LegacyRandomState } from './numpy-compat.js';
import { chunkBounds, stdBand } from './thresholds.js';

/**
 * Univariate drift thresholds from the training reference: what a reference
 * chunk's worth of training rows scores against the whole sample, per feature,
 * for the KS distance (the effect size the verdict keys on) and PSI, and for
 * the share of drifted features. A window is judged only when it holds at least
 * one chunk's worth of predictions: the thresholds describe chunks that size.
 *
 * The profile keeps each training sample sorted, without row order; numpy's
 * legacy RandomState(42) restores one, a permutation per feature in feature
 * order (per version's score, a fresh RandomState(42)). The training split was
 * itself a random order, so each feature's chunks are distributed as the real
 * ones; what is lost is which values sat in one row, and with it the features'
 * correlation inside a chunk, which only the drifted share's threshold would see.
 */

export const UNIVARIATE_SEED = 42;

export interface DriftThresholds {
  ks: number;
  psi: number;
}

export interface UnivariateModel {
  chunkSize: number;
  features: Map<string, DriftThresholds>;
  /** By version, from the profile's training scores. */
  scores: Map<string, DriftThresholds>;
  /** At least 1/features: one feature alone never makes the share drift. */
  driftedShare: number;
}

function chunkStatistics(ref: ReferenceDistribution, rng: LegacyRandomState, chunks: number, psiFloor: number): Array<{ ks: number; psi: number }> {
  const sample = referenceSample(ref);
  const shuffled = Float64Array.from(rng.permutation(sample.length), (i) => sample[i]!);
  const expected = referenceBinCounts(ref);
  return chunkBounds(sample.length, { chunks, keepIncomplete: false }).map(([a, b]) => {
    const below = countsBelowValues(ref, shuffled.subarray(a, b));
    return { ks: ksStatistic(ref, below, b - a), psi: psi(binCounts(ref, below, b - a), expected, psiFloor) };
  });
}

const thresholdsOf = (stats: Array<{ ks: number; psi: number }>): DriftThresholds => ({
  ks: stdBand(stats.map((s) => s.ks)).upper!,
  psi: stdBand(stats.map((s) => s.psi)).upper!,
});

export function fitUnivariate(reference: Reference, o: { chunks: number; psiFloor: number }): UnivariateModel {
  const rng = new LegacyRandomState(UNIVARIATE_SEED);
  const perFeature = reference.featureNames.map((f) => chunkStatistics(reference.features.get(f)!, rng, o.chunks, o.psiFloor));
  const features = new Map(reference.featureNames.map((f, j) => [f, thresholdsOf(perFeature[j]!)] as const));
  const chunkCount = perFeature[0]!.length;
  const shares = Array.from({ length: chunkCount }, (_, c) => perFeature.filter((stats, j) => stats[c]!.ks > features.get(reference.featureNames[j]!)!.ks).length / reference.featureNames.length);
  const scores = new Map([...reference.scores].map(([v, d]) => [v, thresholdsOf(chunkStatistics(d, new LegacyRandomState(UNIVARIATE_SEED), o.chunks, o.psiFloor))] as const));
  return {
    chunkSize: Math.floor(reference.features.get(reference.featureNames[0]!)!.n / o.chunks),
    features,
    scores,
    driftedShare: Math.max(stdBand(shares).upper!, 1 / reference.featureNames.length),
  };
}

/** A window's verdict on one feature (or the score): drifted when its KS distance exceeds the reference's, PSI reported beside it. */
export function driftVerdict(d: { ks: number; psi: number }, t: DriftThresholds): { ks_threshold: number; psi_threshold: number; psi_alert: boolean; drifted: boolean } {
  return { ks_threshold: t.ks, psi_threshold: t.psi, psi_alert: d.psi > t.psi, drifted: d.ks > t.ks };
}
