import type { EventFields } from '@mlmon/runtime';
import type { GroupReport, WindowReport } from './window.js';

/**
 * Drops absent and non-finite numbers, so no NaN or Infinity ever reaches a
 * metric event: a value that cannot be computed is absent, as the contract says.
 */
export function finiteOnly<T extends object>(o: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined || (typeof v === 'number' && !Number.isFinite(v))) continue;
    out[k] = v !== null && typeof v === 'object' && !Array.isArray(v) ? finiteOnly(v) : v;
  }
  return out as T;
}

type Fields<D extends 'mlmon.quality' | 'mlmon.drift' | 'mlmon.data_quality'> = EventFields<D>;

/** The mlmon.quality, mlmon.drift and mlmon.data_quality events of one window report. */
export function metricEvents(report: WindowReport): Array<
  | { dataset: 'mlmon.quality'; message: string; fields: Fields<'mlmon.quality'> }
  | { dataset: 'mlmon.drift'; message: string; fields: Fields<'mlmon.drift'> }
  | { dataset: 'mlmon.data_quality'; message: string; fields: Fields<'mlmon.data_quality'> }
> {
  return report.versions.flatMap((g: GroupReport) => {
    const scope = { model: g.model, window: report.window };
    const who = `${g.model.version} (${g.model.role}) ${report.window.name}`;
    const drift = [...g.drift.features, ...(g.drift.score ? [g.drift.score] : []), g.drift.summary];
    const dq = [...g.data_quality.features, g.data_quality.summary];
    const q = g.quality;
    const p = q.paired;
    const paired = p
      ? `; against ${p.active_version} on ${p.pairs} requests: agreement ${p.agreement?.toFixed(4) ?? '-'}, ${p.labeled_pairs} labeled, only the active right ${p.active_only_correct}, only the shadow right ${p.shadow_only_correct}, McNemar p ${p.mcnemar_p_value?.toPrecision(3) ?? '-'}${p.significantly_better ? ', SIGNIFICANTLY BETTER' : p.significantly_worse ? ', SIGNIFICANTLY WORSE' : ''}`
      : '';
    return [
      {
        dataset: 'mlmon.quality' as const,
        message: `${q.sufficient ? `quality ${who}: accuracy ${q.accuracy?.toFixed(4)} over ${q.labeled} labeled` : `quality ${who}: insufficient data (${q.count === 0 ? 'no predictions, ' : ''}${q.labeled} labeled, ${q.min_samples} needed)`}${paired}`,
        fields: { mlmon: finiteOnly({ ...scope, quality: q }) },
      },
      ...drift.map((d) => ({ dataset: 'mlmon.drift' as const, message: `drift ${who}: ${d.feature}`, fields: { mlmon: finiteOnly({ ...scope, drift: d }) } })),
      ...dq.map((d) => ({ dataset: 'mlmon.data_quality' as const, message: `data quality ${who}: ${d.feature}`, fields: { mlmon: finiteOnly({ ...scope, data_quality: d }) } })),
    ];
  });
}
