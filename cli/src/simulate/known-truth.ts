import { mcnemarExactPValue } from '@mlmon/analyzer';
import type { HoldoutRow } from './holdout.js';
import type { TrafficTally } from './traffic.js';

/**
 * Traffic whose truth is known before it is sent, so that a user can hold the
 * analyzer's figures against it: the holdout rows carry their true label and
 * each committed version's prediction (holdout.json `expected`), so the
 * accuracy a version will realize on a list of rows is counted, not estimated.
 */

/** The weight of a row in the covariate shift: NannyML's boundary-weighted resample (closeness of the score to 0.5). */
export function boundaryWeight(score: number): number {
  return Math.exp(-(((score - 0.5) / 0.15) ** 2)) + 0.02;
}

/**
 * `n` rows drawn with replacement, each with probability proportional to its
 * boundary weight under `version`'s known score: the inputs move toward the
 * decision boundary while P(y|x) stays (the true labels are kept).
 */
export function boundaryResample(rows: HoldoutRow[], version: string, positiveIndex: number, n: number, random = Math.random): HoldoutRow[] {
  const cumulative: number[] = [];
  let total = 0;
  for (const row of rows) {
    total += boundaryWeight(knownPrediction(row, version).probabilities[positiveIndex]!);
    cumulative.push(total);
  }
  return Array.from({ length: n }, () => {
    const u = random() * total;
    let lo = 0;
    let hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid]! > u) hi = mid;
      else lo = mid + 1;
    }
    return rows[lo]!;
  });
}

/**
 * The rows with the labels of a region flipped: the `share` of rows with the
 * highest `feature` get the other label. Features are untouched, so the model
 * answers as before and only the ground truth, once it arrives, tells.
 */
export function flipRegion(rows: HoldoutRow[], feature: string, share: number, labels: readonly string[]): { rows: HoldoutRow[]; above: number } {
  if (!(feature in rows[0]!.features)) throw new Error(`unknown feature "${feature}"`);
  if (!(share > 0 && share < 1)) throw new Error(`the share of flipped rows must be between 0 and 1, got ${share}`);
  const sorted = rows.map((r) => r.features[feature]!).sort((a, b) => b - a);
  // The region is "feature >= above": ties at the edge all fall in, so the share may come out a little larger.
  const above = sorted[Math.max(0, Math.ceil(share * rows.length) - 1)]!;
  const other = (label: string) => labels.find((l) => l !== label)!;
  return { rows: rows.map((r) => (r.features[feature]! >= above ? { ...r, label: other(r.label) } : r)), above };
}

function knownPrediction(row: HoldoutRow, version: string): { label: string; probabilities: number[] } {
  const p = row.expected?.[version];
  if (!p) throw new Error(`holdout.json holds no known predictions of version "${version}"`);
  return p;
}

/** The accuracy `version` realizes on these rows and labels, from its known predictions; undefined for a version holdout.json does not know. */
export function knownAccuracy(rows: HoldoutRow[], version: string): number | undefined {
  if (!rows.every((r) => r.expected?.[version])) return undefined;
  return rows.filter((r) => knownPrediction(r, version).label === r.label).length / rows.length;
}

/** Accuracy of the answers that got ground truth in this run: what the analyzer's realized accuracy measures for them. */
export function labeledAccuracy(t: TrafficTally): { labeled: number; accuracy: number | undefined } {
  const labeled = t.requests.filter((r) => r.trueLabel !== undefined);
  return { labeled: labeled.length, accuracy: labeled.length ? labeled.filter((r) => r.label === r.trueLabel).length / labeled.length : undefined };
}

/** What the paired analysis of `shadow` against `active` must find on these answers, from both versions' known predictions. */
export interface PairedExpectation {
  pairs: number;
  agreement: number | undefined;
  labeled_pairs: number;
  active_accuracy: number | undefined;
  shadow_accuracy: number | undefined;
  active_only_correct: number;
  shadow_only_correct: number;
  mcnemar_p_value: number;
}

export function pairedExpectation(t: TrafficTally, active: string, shadow: string): PairedExpectation {
  // Only what the active version answered is copied: not a canary's answers (the shadow may be promoted to one meanwhile).
  const pairs = t.requests.filter((r) => r.version === active).map((r) => ({ a: knownPrediction(r.row, active).label, s: knownPrediction(r.row, shadow).label, truth: r.trueLabel }));
  const labeled = pairs.filter((p) => p.truth !== undefined);
  const right = (label: string, truth?: string) => label === truth;
  const b = labeled.filter((p) => right(p.a, p.truth) && !right(p.s, p.truth)).length;
  const c = labeled.filter((p) => !right(p.a, p.truth) && right(p.s, p.truth)).length;
  const share = (n: number, of: number) => (of > 0 ? n / of : undefined);
  return {
    pairs: pairs.length,
    agreement: share(pairs.filter((p) => p.a === p.s).length, pairs.length),
    labeled_pairs: labeled.length,
    active_accuracy: share(labeled.filter((p) => right(p.a, p.truth)).length, labeled.length),
    shadow_accuracy: share(labeled.filter((p) => right(p.s, p.truth)).length, labeled.length),
    active_only_correct: b,
    shadow_only_correct: c,
    mcnemar_p_value: mcnemarExactPValue(b, c),
  };
}
