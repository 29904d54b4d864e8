/**
 * Thresholds from the reference, NannyML's way: split the reference rows into
 * chunks (n // chunks rows each), compute the statistic on every chunk, and
 * take mean ± 3 standard deviations (population) of those values. A window is
 * then judged against what a reference chunk's worth of rows does on its own.
 */

export interface ChunkOptions {
  /** How many chunks the reference is split into (NannyML's default chunker: 10). */
  chunks: number;
  /**
   * NannyML keeps the rows left over as one more, smaller chunk (its `incomplete='keep'`), and so do the
   * judgments compared with it (CBPE, reconstruction). The others drop it: a 5-row chunk's KS distance
   * measures 5 rows' noise, several times a 45-row chunk's, and would set the threshold by itself.
   */
  keepIncomplete: boolean;
}

/** [start, end) row ranges of the reference chunks. */
export function chunkBounds(n: number, o: ChunkOptions): Array<[number, number]> {
  const size = Math.floor(n / o.chunks);
  if (size < 1) throw new Error(`a reference of ${n} rows cannot be split into ${o.chunks} chunks`);
  const out: Array<[number, number]> = [];
  for (let a = 0; a + size <= n; a += size) out.push([a, a + size]);
  if (o.keepIncomplete && n % size !== 0) out.push([n - (n % size), n]);
  return out;
}

export interface Band {
  lower?: number;
  upper?: number;
}

/**
 * mean ± 3·std (ddof 0) of the finite values (NaN ignored, as numpy's nanmean and nanstd); limits replace a
 * threshold at or beyond them (CBPE's metrics lie in [0, 1]), or drop it (`dropAtLimit`: the reconstruction
 * error's lower threshold at or below 0 is none). No finite value: no threshold.
 */
export function stdBand(values: number[], limits: { lower?: number; upper?: number; dropAtLimit?: boolean } = {}): Band {
  const v = values.filter(Number.isFinite);
  if (v.length === 0) return {};
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const sd = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
  let lower: number | undefined = mean - 3 * sd;
  let upper: number | undefined = mean + 3 * sd;
  if (limits.lower !== undefined && lower <= limits.lower) lower = limits.dropAtLimit ? undefined : limits.lower;
  if (limits.upper !== undefined && upper >= limits.upper) upper = limits.dropAtLimit ? undefined : limits.upper;
  return { ...(lower !== undefined ? { lower } : {}), ...(upper !== undefined ? { upper } : {}) };
}
