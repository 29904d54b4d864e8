import { z } from 'zod';

const vector = z.array(z.number().refine(Number.isFinite, 'must be a finite number'));
const binary = z.array(z.union([z.literal(0), z.literal(1)]));

/**
 * `model/artifacts/<version>/reference.json`, written by model/train.py beside
 * each version's model: what the version's judgments are fitted on.
 * - `holdout`: the holdout scored by this version (CBPE's reference; 1 = the
 *   positive label, `y_pred_proba` exactly as the replica reports `score`).
 * - `reconstruction`: NannyML's DataReconstructionDriftCalculator fitted on the
 *   training rows (mean imputation, standard scaling with the population std,
 *   PCA keeping `n_components_ratio` of the variance), and the reconstruction
 *   error of every training row.
 * The replica scores each request with `reconstruction`; the analyzer fits CBPE
 * on `holdout` and the thresholds on both.
 */
export const referenceArtifact = z
  .looseObject({
    version: z.string().min(1),
    model: z.string().min(1),
    positive_label: z.string().min(1),
    feature_names: z.array(z.string().min(1)).min(1),
    holdout: z.looseObject({
      source: z.string(),
      sha256: z.string(),
      y_true: binary,
      y_pred_proba: vector,
      y_pred: binary,
    }),
    reconstruction: z.looseObject({
      n_components_ratio: z.number().gt(0).lt(1),
      k: z.number().int().positive(),
      imputer_mean: vector,
      scaler_mean: vector,
      scaler_scale: z.array(z.number().positive()),
      pca_mean: vector,
      components: z.array(vector).min(1),
      reference_errors: z.array(z.number().nonnegative()).min(1),
    }),
  })
  .superRefine((r, ctx) => {
    const p = r.feature_names.length;
    const { reconstruction: rec, holdout } = r;
    for (const key of ['imputer_mean', 'scaler_mean', 'scaler_scale', 'pca_mean'] as const) {
      if (rec[key].length !== p) ctx.addIssue({ code: 'custom', path: ['reconstruction', key], message: `has ${rec[key].length} values for ${p} features` });
    }
    if (rec.components.length !== rec.k) ctx.addIssue({ code: 'custom', path: ['reconstruction', 'components'], message: `has ${rec.components.length} components, k is ${rec.k}` });
    rec.components.forEach((c, i) => {
      if (c.length !== p) ctx.addIssue({ code: 'custom', path: ['reconstruction', 'components', i], message: `has ${c.length} values for ${p} features` });
    });
    const n = holdout.y_true.length;
    for (const key of ['y_pred_proba', 'y_pred'] as const) {
      if (holdout[key].length !== n) ctx.addIssue({ code: 'custom', path: ['holdout', key], message: `has ${holdout[key].length} values for ${n} rows` });
    }
  });
export type ReferenceArtifact = z.infer<typeof referenceArtifact>;
export type ReconstructionFit = ReferenceArtifact['reconstruction'];

/** The file's name in each version's directory. */
export const REFERENCE_FILE = 'reference.json';

/** A row is out of distribution when its reconstruction error is above this percentile of the training rows' errors. */
export const OOD_PERCENTILE = 99;

/**
 * numpy's default percentile (method "linear", Hyndman and Fan's 7th) with
 * numpy's own interpolation, which computes from the upper neighbour when the
 * weight is at least one half: the api flags rows against this threshold and
 * the analyzer derives the OOD rate's reference from it, so both must give the
 * same number to the last bit, as numpy does. Written here because no npm
 * statistics package reproduces numpy's rounding (simple-statistics and jstat
 * interpolate from the lower neighbour only).
 */
export function numpyPercentile(values: readonly number[], percentile: number): number {
  if (values.length === 0) throw new Error('the percentile of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const at = (sorted.length - 1) * (percentile / 100);
  const lo = Math.max(0, Math.min(Math.floor(at), sorted.length - 1));
  const hi = Math.min(lo + 1, sorted.length - 1);
  const t = at - lo;
  const a = sorted[lo]!;
  const b = sorted[hi]!;
  const diff = b - a;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

/** The reconstruction error above which a row is flagged out of distribution. */
export function oodThreshold(fit: Pick<ReconstructionFit, 'reference_errors'>): number {
  return numpyPercentile(fit.reference_errors, OOD_PERCENTILE);
}
