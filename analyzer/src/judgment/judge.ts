import { CBPE_METRICS, estimateCbpe, type CbpeMetric } from './cbpe.js';
import { judgeReconstruction, type OodSums } from './reconstruction.js';
import type { Judgments } from './registry.js';
import type { RawCbpe } from './sums.js';

/**
 * A window's judgments from its raw buckets, in the metric documents' names
 * (analyzer/README.md, "Judgments"). A verdict (`_alert`) is given only when
 * the window holds at least a reference chunk's worth of predictions: the
 * thresholds describe chunks that size, and fewer rows are noisier than they
 * allow for. The estimates and bounds are reported either way.
 */

type Judged<N extends string> = { [K in N | `${N}_lower` | `${N}_upper` | `${N}_threshold_lower` | `${N}_threshold_upper`]?: number } & { [K in `${N}_alert`]?: boolean };

export type CbpeFields = Judged<`estimated_${CbpeMetric}`> & {
  estimated_roc_auc_max_error?: number;
  cbpe?: { calibrated: boolean; ece_before?: number; ece_after?: number; reference_rows: number; reference_chunk_size: number };
};
export type ReconstructionFields = Judged<'reconstruction_error'>;
export interface OodRateFields {
  ood_rate?: number;
  ood_rate_threshold_upper?: number;
  ood_rate_alert?: boolean;
}

export interface GroupJudgments {
  quality: CbpeFields;
  drift: ReconstructionFields;
  dataQuality: OodRateFields;
  notes: string[];
}

export function judgeGroup(judgments: Judgments, g: { model: { version: string }; count: number; cbpe?: RawCbpe | null; oodScores: OodSums }, minPredictions: number | undefined): GroupJudgments {
  const out: GroupJudgments = { quality: {}, drift: {}, dataQuality: {}, notes: [] };
  const j = judgments.of(g.model.version);
  if (g.count === 0) return out;
  if ('missing' in j) {
    out.notes.push(`judgments: ${j.missing}`);
    return out;
  }
  if (g.cbpe === null) out.notes.push('estimates: the window spans slices collected under another reference.json of this version; not estimated until they age out');
  else if (g.cbpe) {
    const est = estimateCbpe(j.cbpe, g.cbpe);
    const judged = est.count >= j.cbpe.referenceChunkSize;
    if (!judged) out.notes.push(`estimates: not judged: ${est.count} predictions, ${j.cbpe.referenceChunkSize} needed (a reference chunk)`);
    const q = out.quality as Record<string, number | boolean>;
    for (const m of CBPE_METRICS) {
      const e = est[m];
      const name = `estimated_${m}`;
      Object.assign(q, {
        [name]: e.value,
        [`${name}_lower`]: e.lower,
        [`${name}_upper`]: e.upper,
        ...(e.thresholdLower !== undefined ? { [`${name}_threshold_lower`]: e.thresholdLower } : {}),
        ...(e.thresholdUpper !== undefined ? { [`${name}_threshold_upper`]: e.thresholdUpper } : {}),
        ...(judged ? { [`${name}_alert`]: e.alert } : {}),
      });
    }
    out.quality.estimated_roc_auc_max_error = est.rocAucMaxError;
    out.quality.cbpe = {
      calibrated: j.cbpe.calibrated,
      ...(j.cbpe.eceBefore !== undefined ? { ece_before: j.cbpe.eceBefore, ece_after: j.cbpe.eceAfter! } : {}),
      reference_rows: j.cbpe.referenceRows,
      reference_chunk_size: j.cbpe.referenceChunkSize,
    };
  }
  const s = g.oodScores;
  if (s.count === 0) {
    out.notes.push('reconstruction drift and OOD rate: no prediction carries an OOD score (replicas with the score off, or older than it)');
    return out;
  }
  const min = minPredictions ?? j.reconstruction.referenceChunkSize;
  const judged = s.count >= min;
  if (!judged) out.notes.push(`reconstruction drift and OOD rate: not judged: ${s.count} scored predictions, ${min} needed`);
  const r = judgeReconstruction(j.reconstruction, s)!;
  Object.assign(out.drift, {
    reconstruction_error: r.value,
    reconstruction_error_lower: r.lower,
    reconstruction_error_upper: r.upper,
    ...(r.thresholdLower !== undefined ? { reconstruction_error_threshold_lower: r.thresholdLower } : {}),
    ...(r.thresholdUpper !== undefined ? { reconstruction_error_threshold_upper: r.thresholdUpper } : {}),
    ...(judged ? { reconstruction_error_alert: r.alert } : {}),
  } satisfies ReconstructionFields);
  const rate = s.flagged / s.count;
  out.dataQuality = { ood_rate: rate, ood_rate_threshold_upper: j.reconstruction.oodRateUpper, ...(judged ? { ood_rate_alert: rate > j.reconstruction.oodRateUpper } : {}) };
  return out;
}
