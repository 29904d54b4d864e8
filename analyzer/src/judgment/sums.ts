import type { OodSums } from './reconstruction.js';

/**
 * The judgments' part of a time range's raw buckets (raw.ts): counts and sums
 * only, so two ranges merge by addition like every other bucket.
 */

/** CBPE's score cells of one group, under the cell boundaries named by `layout` (the version's reference.json). */
export interface RawCbpe {
  layout: string;
  count: Uint32Array;
  sum: Float64Array;
  positiveCount: Uint32Array;
  positiveSum: Float64Array;
}

export const emptyOodSums = (): OodSums => ({ count: 0, sum: 0, sumSquares: 0, flagged: 0 });

export function addOodSums(into: OodSums, s: OodSums): void {
  into.count += s.count;
  into.sum += s.sum;
  into.sumSquares += s.sumSquares;
  into.flagged += s.flagged;
}

export const cloneCbpe = (c: RawCbpe): RawCbpe => ({
  layout: c.layout,
  count: new Uint32Array(c.count),
  sum: new Float64Array(c.sum),
  positiveCount: new Uint32Array(c.positiveCount),
  positiveSum: new Float64Array(c.positiveSum),
});

/**
 * Adds `c` into `into` (a clone the merge owns). Cells of different layouts (a slice collected before the
 * version's reference.json changed, or existed) cannot be added: the result is null, "not estimable", which the
 * window reports as such until those slices age out.
 */
export function mergeCbpe(into: RawCbpe | null | undefined, c: RawCbpe | null | undefined): RawCbpe | null | undefined {
  if (into === null || c === null || !into !== !c) return null;
  if (!into || !c) return undefined;
  if (into.layout !== c.layout) return null;
  for (let k = 0; k < c.count.length; k++) {
    into.count[k]! += c.count[k]!;
    into.sum[k]! += c.sum[k]!;
    into.positiveCount[k]! += c.positiveCount[k]!;
    into.positiveSum[k]! += c.positiveSum[k]!;
  }
  return into;
}

const b64 = (a: Uint32Array | Float64Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
/** Copied into a fresh, aligned buffer: Buffer.from may hand out a slice of a shared pool. */
const bytes = (s: string) => {
  const buf = Buffer.from(s, 'base64');
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
};

export function serializeCbpe(c: RawCbpe | null | undefined): unknown {
  if (!c) return c;
  return { layout: c.layout, count: b64(c.count), sum: b64(c.sum), positiveCount: b64(c.positiveCount), positiveSum: b64(c.positiveSum) };
}

export function deserializeCbpe(o: { layout: string; count: string; sum: string; positiveCount: string; positiveSum: string } | null | undefined): RawCbpe | null | undefined {
  if (!o) return o;
  return {
    layout: o.layout,
    count: new Uint32Array(bytes(o.count)),
    sum: new Float64Array(bytes(o.sum)),
    positiveCount: new Uint32Array(bytes(o.positiveCount)),
    positiveSum: new Float64Array(bytes(o.positiveSum)),
  };
}
