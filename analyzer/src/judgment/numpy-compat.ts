/**
 * numpy's and scikit-learn's behaviour where NannyML's CBPE depends on it bit
 * for bit: the legacy RandomState (MT19937) behind StratifiedShuffleSplit's
 * random_state=42, that splitter itself, and numpy's portable introsort
 * argsort, whose order of tied values decides which labels of a tie group
 * fall into which calibration bin. Written by hand because no npm library
 * reproduces these exact sequences; every function follows numpy 2.4 /
 * scikit-learn 1.9 (analyzer/README.md, "Judgments"), and the tests hold
 * them to NannyML's decisions on fixtures.
 */

const N = 624;
const M = 397;

/** numpy.random.RandomState(seed): MT19937 with the classic init_genrand, and the draws RandomState.permutation makes. */
export class LegacyRandomState {
  private readonly mt = new Uint32Array(N);
  private index = N;

  constructor(seed: number) {
    this.mt[0] = seed >>> 0;
    for (let i = 1; i < N; i++) {
      const prev = this.mt[i - 1]!;
      this.mt[i] = (Math.imul(1812433253, prev ^ (prev >>> 30)) + i) >>> 0;
    }
  }

  private twist(): void {
    const mt = this.mt;
    for (let i = 0; i < N; i++) {
      const y = (mt[i]! & 0x80000000) | (mt[(i + 1) % N]! & 0x7fffffff);
      mt[i] = (mt[(i + M) % N]! ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0)) >>> 0;
    }
    this.index = 0;
  }

  nextUint32(): number {
    if (this.index >= N) this.twist();
    let y = this.mt[this.index++]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** A uniform integer in [0, max]: masked draws, redrawn while above max (numpy's random_interval). */
  interval(max: number): number {
    if (max === 0) return 0;
    let mask = max;
    for (const s of [1, 2, 4, 8, 16]) mask |= mask >>> s;
    mask >>>= 0;
    for (;;) {
      const v = (this.nextUint32() & mask) >>> 0;
      if (v <= max) return v;
    }
  }

  /** RandomState.permutation: Fisher–Yates from the top, of [0, n) or of a copy of `items`. */
  permutation(n: number): number[];
  permutation<T>(items: readonly T[]): T[];
  permutation<T>(arg: number | readonly T[]): Array<number | T> {
    const a: Array<number | T> = typeof arg === 'number' ? Array.from({ length: arg }, (_, i) => i) : [...arg];
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.interval(i);
      [a[i], a[j]] = [a[j]!, a[i]!];
    }
    return a;
  }
}

/** scikit-learn's _approximate_mode: `draws` split over classes in proportion to `counts`, ties broken by the RNG. */
function approximateMode(counts: number[], draws: number, rng: LegacyRandomState): number[] {
  const total = counts.reduce((a, b) => a + b, 0);
  // Divide first, then multiply: sklearn's order of operations, which sets the remainders compared below.
  const cont = counts.map((c) => (c / total) * draws);
  const floored = cont.map(Math.floor);
  let need = draws - floored.reduce((a, b) => a + b, 0);
  if (need > 0) {
    const remainder = cont.map((c, i) => c - floored[i]!);
    const values = [...new Set(remainder)].sort((a, b) => b - a);
    for (const value of values) {
      const tied = remainder.flatMap((r, i) => (r === value ? [i] : []));
      const take = Math.min(tied.length, need);
      // choice(replace=False) = permutation(len)[:k]: it draws even when choosing 1 of 1 (that draws nothing) or all.
      for (const i of rng.permutation(tied.length).slice(0, take)) floored[tied[i]!]! += 1;
      need -= take;
      if (need === 0) break;
    }
  }
  return floored;
}

/**
 * StratifiedShuffleSplit(n_splits, test_size, random_state=seed).split(X, y): the same train and test
 * row indices, in the same order, as scikit-learn.
 */
export function* stratifiedShuffleSplit(y: ArrayLike<number>, nSplits = 10, testSize = 0.1, seed = 42): Generator<{ train: number[]; test: number[] }> {
  const n = y.length;
  // The product in float64, as Python's ceil(0.1 * n): ceil(0.1 * 30) is 4.
  const nTest = Math.ceil(testSize * n);
  const nTrain = n - nTest;
  const classes = [...new Set(Array.from(y))].sort((a, b) => a - b);
  const rows = classes.map((c) => Array.from(y).flatMap((v, i) => (v === c ? [i] : [])));
  const counts = rows.map((r) => r.length);
  if (Math.min(...counts) < 2) throw new Error('stratified split: the least populated class has fewer than 2 members');
  if (nTrain < classes.length || nTest < classes.length) throw new Error(`stratified split: ${n} rows are too few for ${classes.length} classes`);
  const rng = new LegacyRandomState(seed);
  for (let s = 0; s < nSplits; s++) {
    const trainCounts = approximateMode(counts, nTrain, rng);
    const testCounts = approximateMode(
      counts.map((c, k) => c - trainCounts[k]!),
      nTest,
      rng,
    );
    let train: number[] = [];
    let test: number[] = [];
    rows.forEach((classRows, k) => {
      const picked = rng.permutation(counts[k]!).map((p) => classRows[p]!);
      train = train.concat(picked.slice(0, trainCounts[k]));
      test = test.concat(picked.slice(trainCounts[k], trainCounts[k]! + testCounts[k]!));
    });
    // Both shuffles advance the generator, and the test order matters downstream (ties in the ECE sort).
    train = rng.permutation(train);
    test = rng.permutation(test);
    yield { train, test };
  }
}

/** numpy's ordering for floats: NaN sorts last. */
const less = (a: number, b: number) => a < b || (b !== b && a === a);

/**
 * numpy's default argsort (kind "quicksort") as its portable introsort runs it:
 * median-of-three quicksort, insertion sort below 17 elements, heapsort after
 * 2·floor(log2 n) levels. Ties come out in the order this algorithm leaves them,
 * which is what NannyML sees on every CPU without AVX2/AVX-512 (where numpy
 * dispatches to x86-simd-sort instead).
 */
export function argsortNumpy(v: ArrayLike<number>): Int32Array {
  const n = v.length;
  const t = new Int32Array(n);
  for (let i = 0; i < n; i++) t[i] = i;
  if (n < 2) return t;
  const swap = (a: number, b: number) => {
    const x = t[a]!;
    t[a] = t[b]!;
    t[b] = x;
  };
  const heapsort = (lo: number, count: number) => {
    // 1-based heap over t[lo .. lo + count - 1], as numpy's aheapsort.
    const at = (i: number) => lo + i - 1;
    const sift = (start: number, m: number, tmp: number) => {
      let i = start;
      let j = 2 * i;
      while (j <= m) {
        if (j < m && less(v[t[at(j)]!]!, v[t[at(j + 1)]!]!)) j += 1;
        if (less(v[tmp]!, v[t[at(j)]!]!)) {
          t[at(i)] = t[at(j)]!;
          i = j;
          j += j;
        } else break;
      }
      t[at(i)] = tmp;
    };
    for (let l = count >> 1; l > 0; l--) sift(l, count, t[at(l)]!);
    for (let m = count; m > 1; m--) {
      const tmp = t[at(m)]!;
      t[at(m)] = t[at(1)]!;
      sift(1, m - 1, tmp);
    }
  };
  let pl = 0;
  let pr = n - 1;
  const stack: number[] = [];
  const depths: number[] = [];
  // 2·floor(log2 n), exactly (npy_get_msb).
  let depth = 2 * (31 - Math.clz32(n));
  for (;;) {
    if (depth < 0) heapsort(pl, pr - pl + 1);
    else {
      while (pr - pl > 15) {
        const pm = pl + ((pr - pl) >> 1);
        if (less(v[t[pm]!]!, v[t[pl]!]!)) swap(pm, pl);
        if (less(v[t[pr]!]!, v[t[pm]!]!)) swap(pr, pm);
        if (less(v[t[pm]!]!, v[t[pl]!]!)) swap(pm, pl);
        const vp = v[t[pm]!]!;
        let pi = pl;
        let pj = pr - 1;
        swap(pm, pj);
        for (;;) {
          do pi += 1;
          while (less(v[t[pi]!]!, vp));
          do pj -= 1;
          while (less(vp, v[t[pj]!]!));
          if (pi >= pj) break;
          swap(pi, pj);
        }
        swap(pi, pr - 1);
        if (pi - pl < pr - pi) {
          stack.push(pi + 1, pr);
          pr = pi - 1;
        } else {
          stack.push(pl, pi - 1);
          pl = pi + 1;
        }
        depths.push(--depth);
      }
      for (let pi = pl + 1; pi <= pr; pi++) {
        const vi = t[pi]!;
        const vp = v[vi]!;
        let pj = pi;
        while (pj > pl && less(vp, v[t[pj - 1]!]!)) {
          t[pj] = t[pj - 1]!;
          pj -= 1;
        }
        t[pj] = vi;
      }
    }
    if (stack.length === 0) break;
    pr = stack.pop()!;
    pl = stack.pop()!;
    depth = depths.pop()!;
  }
  return t;
}
