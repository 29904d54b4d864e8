import jstat from 'jstat';

const { jStat } = jstat;

/**
 * The statistics no library here offers in the exact form scipy and
 * statsmodels compute (the test fixtures hold these to their answers): the
 * two-sample KS p-value from the statistic and the sample sizes (the samples
 * themselves never leave Elasticsearch), Newcombe's interval, PSI on fixed
 * bins, Benjamini-Hochberg. The normal and binomial distributions are jstat's.
 */

const normalSf = (z: number) => jStat.normal.cdf(-z, 0, 1);

/** Wilson score interval of a proportion, without continuity correction. */
function wilson(x: number, n: number, z: number): [number, number] {
  const p = x / n;
  const z2 = z * z;
  const center = p + z2 / (2 * n);
  const half = z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  const denom = 1 + z2 / n;
  return [(center - half) / denom, (center + half) / denom];
}

/**
 * Newcombe's hybrid score interval (his method 10) for p1 - p2, from the two
 * Wilson intervals; as statsmodels' confint_proportions_2indep(method='newcomb').
 */
export function newcombeDiff(x1: number, n1: number, x2: number, n2: number, alpha = 0.05): { diff: number; low: number; high: number } {
  const z = jStat.normal.inv(1 - alpha / 2, 0, 1);
  const p1 = x1 / n1;
  const p2 = x2 / n2;
  const [l1, u1] = wilson(x1, n1, z);
  const [l2, u2] = wilson(x2, n2, z);
  const diff = p1 - p2;
  return {
    diff,
    low: diff - Math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2),
    high: diff + Math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2),
  };
}

/** Two-sided pooled two-proportion z-test (statsmodels' proportions_ztest); undefined when both proportions are 0 or 1. */
export function twoProportionPValue(x1: number, n1: number, x2: number, n2: number): number | undefined {
  const pooled = (x1 + x2) / (n1 + n2);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
  if (!(se > 0)) return undefined;
  const z = (x1 / n1 - x2 / n2) / se;
  return Math.min(1, 2 * normalSf(Math.abs(z)));
}

/**
 * The exact two-sided McNemar test of paired binary outcomes from its
 * discordant counts b and c, as statsmodels' mcnemar(table, exact=True):
 * min(1, 2·P(X ≤ k)) for X ~ Binomial(b + c, 1/2), k = min(b, c); 1 with no
 * discordant pair. P(X ≤ k) is jstat's regularized incomplete beta
 * I_{1/2}(n − k, k + 1), the binomial CDF's closed form: jStat.binomial.cdf
 * rounds to 1e-10, which makes every p-value below that 0, while ibeta stays
 * within a relative 1e-7 of statsmodels down to 1e-58 (test/stats.test.ts).
 */
export function mcnemarExactPValue(b: number, c: number): number {
  const k = Math.min(b, c);
  const n = b + c;
  if (k === n) return 1;
  return Math.min(1, 2 * jStat.ibeta(0.5, n - k, k + 1));
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/** Largest sample size for which the exact distribution is used, as scipy's ks_2samp(method='auto'). */
export const KS_EXACT_MAX_N = 10_000;

/**
 * Two-sided p-value of the two-sample KS statistic `d` for sample sizes m and n.
 * Up to 10,000 rows per sample it is exact, like scipy's ks_2samp: for m = n,
 * the reflection formula; otherwise the lattice-path ("inside") method of
 * Hodges (1958), in the form of Viehmann (2021) that carries the probability of
 * having left the band, which stays within [0, 1] instead of counting paths.
 * Above that, Kolmogorov's limiting distribution at sqrt(mn/(m+n))·d
 * (scipy.special.kolmogorov).
 */
export function ksPValue(d: number, m: number, n: number): number {
  if (m > KS_EXACT_MAX_N || n > KS_EXACT_MAX_N) return kolmogorovSf(Math.sqrt((m * n) / (m + n)) * d);
  const g = gcd(m, n);
  const lcm = (m / g) * n;
  // The statistic is a multiple of 1/lcm; rounding removes the float noise of its computation.
  const h = Math.round(d * lcm);
  if (h === 0) return 1;
  const p = m === n ? outsideSquare(n, h) : outsideBand(m, n, g, h);
  return Math.min(1, Math.max(0, p));
}

/** P(D_{n,n} >= h/n) = 2 Σ_k (-1)^(k+1) C(2n, n-kh)/C(2n, n), evaluated in nested (Horner) form against cancellation. */
function outsideSquare(n: number, h: number): number {
  let p = 0;
  for (let k = Math.floor(n / h); k >= 0; k--) {
    let term = 1;
    for (let j = 0; j < h; j++) term = ((n - k * h - j) * term) / (n + k * h + j + 1);
    p = term * (1 - p);
  }
  return 2 * p;
}

/**
 * The share of monotone lattice paths from (0,0) to (m,n) that touch or leave
 * the band |x·n/g - y·m/g| < h. B(i,j), the probability that a random path to
 * (i,j) has left the band, is 1 outside it and inside follows
 * B(i,j) = (i·B(i-1,j) + j·B(i,j-1)) / (i+j), since the binomial path counts
 * split in that ratio.
 */
function outsideBand(m0: number, n0: number, g: number, h: number): number {
  const [m, n] = m0 >= n0 ? [m0, n0] : [n0, m0];
  const mg = m / g;
  const ng = n / g;
  const inside = (i: number, j: number) => Math.abs(i * ng - j * mg) < h;
  let col = new Float64Array(n + 1);
  let next = new Float64Array(n + 1);
  col[0] = 0;
  for (let j = 1; j <= n; j++) col[j] = inside(0, j) ? col[j - 1]! : 1;
  for (let i = 1; i <= m; i++) {
    for (let j = 0; j <= n; j++) {
      next[j] = inside(i, j) ? (i * col[j]! + (j > 0 ? j * next[j - 1]! : 0)) / (i + j) : 1;
    }
    [col, next] = [next, col];
  }
  return col[n]!;
}

/** Kolmogorov's limiting survival function Q(λ) = 2 Σ_{k≥1} (-1)^(k-1) exp(-2k²λ²). */
export function kolmogorovSf(lambda: number): number {
  if (lambda <= 0) return 1;
  if (lambda < 0.3) {
    // The alternating series converges slowly here; use the complementary (theta) form of the CDF.
    const c = Math.sqrt(2 * Math.PI) / lambda;
    let cdf = 0;
    for (let k = 1; k <= 50; k++) cdf += Math.exp(-((2 * k - 1) ** 2) * Math.PI ** 2 / (8 * lambda * lambda));
    return 1 - c * cdf;
  }
  let sum = 0;
  for (let k = 1; k <= 200; k++) {
    const term = Math.exp(-2 * k * k * lambda * lambda);
    sum += (k % 2 === 1 ? 1 : -1) * term;
    if (term < 1e-300) break;
  }
  return Math.min(1, Math.max(0, 2 * sum));
}

/** Population stability index over fixed bins; empty bins count as `floor` so that a bin only one side fills stays finite. */
export function psi(actual: number[], expected: number[], floor: number): number {
  const na = actual.reduce((a, b) => a + b, 0);
  const ne = expected.reduce((a, b) => a + b, 0);
  let sum = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = Math.max(actual[i]! / na, floor);
    const e = Math.max(expected[i]! / ne, floor);
    sum += (a - e) * Math.log(a / e);
  }
  return sum;
}

/** Benjamini-Hochberg adjusted p-values (scipy.stats.false_discovery_control(method='bh')), in input order. */
export function benjaminiHochberg(pValues: number[]): number[] {
  const m = pValues.length;
  const order = pValues.map((p, i) => [p, i] as const).sort((a, b) => a[0] - b[0]);
  const adjusted = new Array<number>(m);
  let running = 1;
  for (let k = m - 1; k >= 0; k--) {
    const [p, i] = order[k]!;
    running = Math.min(running, (p * m) / (k + 1));
    adjusted[i] = Math.min(1, running);
  }
  return adjusted;
}

/** How many of the ascending values are <= x (< x when `strict`): the range bucket, or knot interval, x falls in. */
export function countAtMost(sorted: ArrayLike<number>, x: number, strict = false): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! < x || (!strict && sorted[mid] === x)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The smallest float32 above x (itself a float32): a float32 value is <= x
 * exactly when it is < nextFloatUp(x). Float32, not double, because
 * Elasticsearch rounds the bounds of a range aggregation on a `float` field to
 * float32: a double just above x would round back to x.
 */
export function nextFloatUp(x: number): number {
  if (Number.isNaN(x) || x === Infinity) return x;
  if (Math.fround(x) !== x) throw new Error(`nextFloatUp: ${x} is not a float32 value`);
  if (x === 0) return 2 ** -149;
  const bits = new Int32Array(new Float32Array([x]).buffer);
  bits[0]! += x > 0 ? 1 : -1;
  return new Float32Array(bits.buffer)[0]!;
}
