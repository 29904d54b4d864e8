import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { oodThreshold, REFERENCE_FILE, referenceArtifact, type ReconstructionFit } from '@mlmon/contract';

/** What a prediction's log line carries about how unlike the training rows its input is. */
export interface OodResult {
  score: number;
  flag: boolean;
  threshold: number;
}

/**
 * The out-of-distribution score of one row: its reconstruction error after
 * NannyML's DataReconstructionDriftCalculator fit (reference.json), i.e.
 * standardize with the training rows' mean and population std, centre on the
 * PCA mean (d), and measure what the k kept components miss: ||d - d V Vᵀ||.
 * In float64 from the values the model was sent, before any privacy coarsening.
 * The api refuses rows with a missing or non-finite feature, so the fit's mean
 * imputation never applies here.
 */
export class OodScorer {
  readonly threshold: number;
  /** Components kept. */
  readonly k: number;
  private readonly width: number;
  private readonly components: Float64Array[];
  // Scratch space reused by every row: scoring is synchronous, so no two rows share it at once.
  private readonly d: Float64Array;
  private readonly projections: Float64Array;

  constructor(
    private readonly fit: ReconstructionFit,
    private readonly featureNames: readonly string[],
  ) {
    this.width = featureNames.length;
    this.components = fit.components.map((c) => Float64Array.from(c));
    this.k = this.components.length;
    this.d = new Float64Array(this.width);
    this.projections = new Float64Array(this.components.length);
    this.threshold = oodThreshold(fit);
  }

  score(row: Record<string, number>): OodResult {
    const { scaler_mean: mean, scaler_scale: scale, pca_mean: centre } = this.fit;
    const { d, projections } = this;
    for (let j = 0; j < this.width; j++) d[j] = (row[this.featureNames[j]!]! - mean[j]!) / scale[j]! - centre[j]!;
    // The residual d - Σ_c (d·v_c) v_c, computed as such rather than as ||d||² - Σ (d·v_c)²,
    // which loses the digits of a small error next to a large ||d||.
    this.components.forEach((v, c) => {
      let dot = 0;
      for (let j = 0; j < this.width; j++) dot += d[j]! * v[j]!;
      projections[c] = dot;
    });
    let sum = 0;
    for (let j = 0; j < this.width; j++) {
      let r = d[j]!;
      for (let c = 0; c < this.components.length; c++) r -= projections[c]! * this.components[c]![j]!;
      sum += r * r;
    }
    const score = Math.sqrt(sum);
    return { score, flag: score > this.threshold, threshold: this.threshold };
  }
}

/**
 * The scorer of the version in `dir`, from its reference.json; undefined when
 * the version has none (a model made before references existed): its
 * predictions then carry no OOD score. A reference that does not describe this
 * model's features stops the load: scoring against the wrong columns would log
 * plausible nonsense.
 */
export function loadOodScorer(dir: string, featureNames: readonly string[]): OodScorer | undefined {
  const file = path.join(dir, REFERENCE_FILE);
  if (!existsSync(file)) return undefined;
  const parsed = referenceArtifact.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`${file}: ${issue.path.join('.')}: ${issue.message}`);
  }
  const names = parsed.data.feature_names;
  if (names.length !== featureNames.length || names.some((n, i) => n !== featureNames[i])) {
    throw new Error(`${file}: feature_names differ from the model card's (the reference must list the model's input order)`);
  }
  return new OodScorer(parsed.data.reconstruction, featureNames);
}
