import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { oodThreshold, REFERENCE_FILE, referenceArtifact } from '@mlmon/contract';
import type { Reference } from '../reference.js';
import { fitCbpe, type Calibration, type CbpeModel } from './cbpe.js';
import { fitReconstruction, type ReconstructionModel } from './reconstruction.js';
import { fitUnivariate, type UnivariateModel } from './univariate.js';

export interface JudgmentSettings {
  calibration: Calibration;
  /** Reference chunks behind every threshold (NannyML's default chunker: 10). */
  referenceChunks: number;
  psiFloor: number;
}

/** What a version's reference.json fits: CBPE on its holdout, the reconstruction thresholds on its training rows. */
export interface VersionJudgments {
  cbpe: CbpeModel;
  reconstruction: ReconstructionModel;
  /** The replicas' OOD flag threshold (the contract's oodThreshold). */
  oodThreshold: number;
  /** Names the CBPE cell boundaries: slices collected under other boundaries do not merge with these. */
  layout: string;
}

/**
 * The fitted judgments: the univariate thresholds from the training profile at
 * start, and per model version, on first sight, what its reference.json fits
 * (in the first of `modelDirs` holding `<version>/reference.json`). A version
 * without one, or with one that cannot be fitted, gets no CBPE, reconstruction
 * drift or OOD rate, said once; the rest of its metrics are unaffected.
 */
export class Judgments {
  readonly univariate: UnivariateModel;
  private readonly versions = new Map<string, VersionJudgments | { missing: string }>();

  constructor(
    reference: Reference,
    readonly settings: JudgmentSettings,
    private readonly modelDirs: string[],
    private readonly say: (message: string) => void = () => {},
  ) {
    this.univariate = fitUnivariate(reference, { chunks: settings.referenceChunks, psiFloor: settings.psiFloor });
  }

  /** The version's fitted judgments, or why there are none. */
  of(version: string): VersionJudgments | { missing: string } {
    let known = this.versions.get(version);
    if (!known) {
      known = this.load(version);
      this.versions.set(version, known);
      if ('missing' in known) this.say(`version ${version}: ${known.missing}`);
    }
    return known;
  }

  private load(version: string): VersionJudgments | { missing: string } {
    // A version name becomes a path: only names a model registry accepts (no separators, no dot files).
    if (!/^[A-Za-z0-9_.-]+$/.test(version) || version.startsWith('.')) return { missing: 'not a version name the model directories can hold; no CBPE, reconstruction drift or OOD rate' };
    for (const dir of this.modelDirs) {
      const file = path.join(dir, version, REFERENCE_FILE);
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        return { missing: `${file}: ${(err as Error).message}; no CBPE, reconstruction drift or OOD rate` };
      }
      try {
        const parsed = referenceArtifact.safeParse(JSON.parse(text));
        if (!parsed.success) {
          const issue = parsed.error.issues[0]!;
          throw new Error(`${issue.path.join('.')}: ${issue.message}`);
        }
        const r = parsed.data;
        const cbpe = fitCbpe(r.holdout, { calibration: this.settings.calibration, chunks: this.settings.referenceChunks });
        const threshold = oodThreshold(r.reconstruction);
        return {
          cbpe,
          reconstruction: fitReconstruction({ reference_errors: r.reconstruction.reference_errors, ood_threshold: threshold }, this.settings.referenceChunks),
          oodThreshold: threshold,
          layout: createHash('sha256').update(JSON.stringify(cbpe.boundaries)).digest('hex').slice(0, 16),
        };
      } catch (err) {
        return { missing: `${file}: ${(err as Error).message} (regenerate it with model/train.py); no CBPE, reconstruction drift or OOD rate` };
      }
    }
    return { missing: `no ${REFERENCE_FILE} in ${this.modelDirs.join(' or ')}; no CBPE, reconstruction drift or OOD rate (model/train.py writes one per version)` };
  }
}
