import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { numpyPercentile, oodThreshold, referenceArtifact } from '../src/index.js';

/** Written by model/make_ood_fixture.py from numpy and scikit-learn. */
const fixture = JSON.parse(readFileSync(new URL('../../../api/test/fixtures/ood-fixture.json', import.meta.url), 'utf8')) as {
  reference: Record<string, unknown> & { reconstruction: { reference_errors: number[]; components: number[][] } };
  threshold: number;
  percentiles: Array<{ values: number[]; p: number; expected: number }>;
};

describe('numpyPercentile', () => {
  it.each(fixture.percentiles.map((c) => [c.values.length, c.p, c]))('equals numpy.percentile to the last bit (%i values, p%d)', (_n, _p, c) => {
    expect(numpyPercentile(c.values, c.p)).toBe(c.expected);
  });

  it('the OOD threshold is numpy 99th percentile of the training errors', () => {
    expect(oodThreshold(fixture.reference.reconstruction)).toBe(fixture.threshold);
  });

  it('refuses no values', () => {
    expect(() => numpyPercentile([], 50)).toThrow('the percentile of no values');
  });
});

describe('referenceArtifact', () => {
  it('accepts the format model/train.py writes', () => {
    expect(referenceArtifact.parse(fixture.reference).reconstruction.k).toBe(3);
  });

  it('names the member that does not fit the features', () => {
    const bad = structuredClone(fixture.reference);
    bad.reconstruction.components[1] = bad.reconstruction.components[1]!.slice(1);
    const issue = referenceArtifact.safeParse(bad).error!.issues[0]!;
    expect(issue.path).toEqual(['reconstruction', 'components', 1]);
    expect(issue.message).toBe('has 29 values for 30 features');
  });
});
