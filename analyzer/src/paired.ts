import type { RawPaired, RawPairedLabeled } from './raw.js';
import { mcnemarExactPValue } from './stats.js';

/**
 * The shadow against the active version on the same requests. Each shadow
 * prediction's line carries the active answer to its request, so every figure
 * here is an aggregation over shadow lines (collect.ts) and their labeled
 * documents, and merges across slices like every other count.
 */

/**
 * Boundaries (ns) of the buckets of the latency difference (shadow − active):
 * one bucket for |d| < 1 µs, then buckets 5% wide on each side up to 100 s.
 * Percentiles of a difference are not additive, bucket counts are: a slice
 * keeps the counts, a window adds them, and a percentile is read off the
 * merged buckets. Its error is the bucket's half width: within 2.5% of the
 * true order statistic, or 1 µs around 0.
 */
export const LATENCY_DIFF_BOUNDARIES: number[] = (() => {
  const up = [1000];
  while (up.at(-1)! < 1e11) up.push(Math.max(up.at(-1)! + 1, Math.round(up.at(-1)! * 1.05)));
  return [...up.map((b) => -b).reverse(), ...up];
})();

/** The range buckets over those boundaries: below the first, between each two, from the last. */
export function latencyDiffRanges(): Array<{ from?: number; to?: number }> {
  const b = LATENCY_DIFF_BOUNDARIES;
  return [{ to: b[0]! }, ...b.slice(1).map((to, i) => ({ from: b[i]!, to })), { from: b.at(-1)! }];
}

/**
 * The q-quantile of the values counted in the buckets, as the nearest-rank
 * order statistic (numpy's method='inverted_cdf') located in its bucket and
 * reported as the bucket's geometric middle (0 for the bucket around 0, the
 * edge for the open buckets at both ends).
 */
export function bucketQuantile(counts: ArrayLike<number>, q: number): number | undefined {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i]!;
  if (total === 0) return undefined;
  const rank = Math.max(1, Math.ceil(q * total));
  const b = LATENCY_DIFF_BOUNDARIES;
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    seen += counts[i]!;
    if (seen < rank) continue;
    if (i === 0) return b[0]!;
    if (i === counts.length - 1) return b.at(-1)!;
    const [lo, hi] = [b[i - 1]!, b[i]!];
    if (lo < 0 && hi > 0) return 0;
    return Math.sign(lo) * Math.sqrt(lo * hi);
  }
  return undefined;
}

export interface PairedSettings {
  alpha: number;
  minDiscordant: number;
}

export interface Paired {
  active_version: string;
  pairs: number;
  agreement?: number;
  labeled_pairs: number;
  active_only_correct: number;
  shadow_only_correct: number;
  discordant: number;
  mcnemar_p_value?: number;
  active_accuracy?: number;
  shadow_accuracy?: number;
  accuracy_diff?: number;
  score_diff_mean?: number;
  latency_diff_p50_ms?: number;
  latency_diff_p99_ms?: number;
  alpha: number;
  min_discordant: number;
  significantly_better: boolean;
  significantly_worse: boolean;
}

const ms = (ns: number | undefined) => (ns === undefined ? undefined : ns / 1e6);

/**
 * The paired figures of a shadow against the active version it shadowed the
 * most in the window (a shadow kept across a change of the active version has
 * pairs with both; the other's are left out, as a canary is compared with one
 * active version).
 */
export function finishPaired(unlabeled: Map<string, RawPaired> | undefined, labeled: Map<string, RawPairedLabeled> | undefined, s: PairedSettings): Paired | undefined {
  const versions = new Set([...(unlabeled?.keys() ?? []), ...(labeled?.keys() ?? [])]);
  const pairsOf = (v: string) => unlabeled?.get(v)?.pairs ?? 0;
  const version = [...versions].sort((a, b) => pairsOf(b) - pairsOf(a) || (labeled?.get(b)?.n ?? 0) - (labeled?.get(a)?.n ?? 0))[0];
  if (version === undefined) return undefined;
  const u = unlabeled?.get(version);
  const l = labeled?.get(version) ?? { n: 0, activeCorrect: 0, shadowCorrect: 0, b: 0, c: 0 };
  const pairs = u?.pairs ?? 0;
  const discordant = l.b + l.c;
  const p = l.n > 0 ? mcnemarExactPValue(l.b, l.c) : undefined;
  const significant = p !== undefined && p < s.alpha && discordant >= s.minDiscordant;
  return {
    active_version: version,
    pairs,
    ...(pairs > 0 ? { agreement: u!.agree / pairs, score_diff_mean: u!.scoreDiffSum / pairs } : {}),
    labeled_pairs: l.n,
    active_only_correct: l.b,
    shadow_only_correct: l.c,
    discordant,
    ...(p !== undefined ? { mcnemar_p_value: p } : {}),
    ...(l.n > 0 ? { active_accuracy: l.activeCorrect / l.n, shadow_accuracy: l.shadowCorrect / l.n, accuracy_diff: (l.shadowCorrect - l.activeCorrect) / l.n } : {}),
    ...(u ? { latency_diff_p50_ms: ms(bucketQuantile(u.latency, 0.5)), latency_diff_p99_ms: ms(bucketQuantile(u.latency, 0.99)) } : {}),
    alpha: s.alpha,
    min_discordant: s.minDiscordant,
    significantly_better: significant && l.c > l.b,
    significantly_worse: significant && l.b > l.c,
  };
}
