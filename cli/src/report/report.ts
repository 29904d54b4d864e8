import type { estypes } from '@elastic/elasticsearch';
import { familyPattern, type MlmonEvent } from '@mlmon/contract';
import { dashboardData, panelsById, type PanelData } from '../dashboard/data.js';
import { describeEvent } from '../troubleshoot/format.js';
import type { LogStore } from '../troubleshoot/search.js';

/** The part of model/artifacts/reference_profile.json the report reads: each feature's training histogram. */
export interface ReferenceProfile {
  name: string;
  features: Record<string, { mean: number; std: number; histogram: { edges: number[]; counts: number[] } }>;
}

export interface FeatureDistribution {
  feature: string;
  edges: number[];
  reference: number[];
  /** Counts of the window's predictions in the reference bins, plus those below and above the training range. */
  window: number[];
  underflow: number;
  overflow: number;
  /** As the analyzer reported it for the window (mlmon.drift); the report computes no drift figure itself. */
  psi: number | null;
  ks: number | null;
  drifted: boolean;
}

export interface ModelReport {
  from: string;
  to: string;
  predictions: number;
  quality: Array<{ version: string; windows: number; accuracy: number | null; f1: number | null; rocAuc: number | null; logLoss: number | null; labelCoverage: number | null }>;
  distributions: FeatureDistribution[];
  dataQuality: Array<{ feature: string; missingRate: number | null; outOfRangeRate: number | null }>;
  rejectedRate: number | null;
  /** The dashboards' judgment panels over the range: estimated against realized accuracy, reconstruction error; each with its band and thresholds. */
  judgments: PanelData[];
  /** The dashboard's shadow panel: a shadow against the active version on the same requests; no points without a shadow. */
  shadow: PanelData[];
  events: MlmonEvent[];
}

/** The panels the report draws over time, from the dashboards' own definitions and queries. */
export const JUDGMENT_PANELS = ['estimated', 'reconstruction'];
export const SHADOW_PANELS = ['shadow'];

type Buckets = { buckets: Array<Record<string, unknown> & { key: string; doc_count: number }> };
const value = (agg: unknown) => (agg as { value?: number | null } | undefined)?.value ?? null;
const featureField = (f: string) => `mlmon.prediction.features.${f}`;

/**
 * The window's figures, all from Elasticsearch aggregations: quality and drift
 * as the analyzer wrote them (averaged, or the worst, over its windows), and
 * each feature's distribution counted in the training histogram's bins.
 */
export async function buildReport(store: LogStore, o: { from: string; to: string; profile: ReferenceProfile }): Promise<ModelReport> {
  const range = { range: { '@timestamp': { gte: o.from, lt: o.to } } };
  const search = (family: Parameters<typeof familyPattern>[1], body: Omit<estypes.SearchRequest, 'index'>) =>
    store.client.search({ index: familyPattern(store.prefix, family), ignore_unavailable: true, allow_no_indices: true, ...body });
  const dataset = (d: string) => ({ term: { 'event.dataset': d } });
  const features = Object.keys(o.profile.features);

  const binAggs = Object.fromEntries(
    features.map((f) => {
      const edges = o.profile.features[f]!.histogram.edges;
      const ranges = [{ to: edges[0]! }, ...edges.slice(0, -1).map((e, i) => (i === edges.length - 2 ? { from: e } : { from: e, to: edges[i + 1]! }))];
      // The last bin includes its right edge (numpy's histogram); what lies beyond it is the overflow.
      return [f, { range: { field: featureField(f), ranges, keyed: false } }];
    }),
  );
  const overflowAggs = Object.fromEntries(features.map((f) => [`${f}__over`, { filter: { range: { [featureField(f)]: { gt: o.profile.features[f]!.histogram.edges.at(-1)! } } } }]));

  const [judgments, shadow, predictions, quality, drift, dq, events] = await Promise.all([
    dashboardData(store, { from: o.from, to: o.to }, panelsById(JUDGMENT_PANELS)),
    dashboardData(store, { from: o.from, to: o.to }, panelsById(SHADOW_PANELS)),
    search('predictions', { size: 0, track_total_hits: true, query: { bool: { filter: [range] } }, aggs: { ...binAggs, ...overflowAggs } }),
    search('metrics', {
      size: 0,
      query: { bool: { filter: [range, dataset('mlmon.quality')] } },
      aggs: {
        versions: {
          terms: { field: 'mlmon.model.version', size: 20 },
          aggs: Object.fromEntries(['accuracy', 'f1', 'roc_auc', 'log_loss', 'label_coverage'].map((m) => [m, { avg: { field: `mlmon.quality.${m}` } }])),
        },
      },
    }),
    search('metrics', {
      size: 0,
      query: { bool: { filter: [range, dataset('mlmon.drift')] } },
      aggs: { features: { terms: { field: 'mlmon.drift.feature', size: 100 }, aggs: { psi: { max: { field: 'mlmon.drift.psi' } }, ks: { max: { field: 'mlmon.drift.ks' } }, drifted: { filter: { term: { 'mlmon.drift.drifted': true } } } } } },
    }),
    search('metrics', {
      size: 0,
      query: { bool: { filter: [range, dataset('mlmon.data_quality')] } },
      aggs: {
        features: { terms: { field: 'mlmon.data_quality.feature', size: 100 }, aggs: { missing: { avg: { field: 'mlmon.data_quality.missing_rate' } }, oor: { avg: { field: 'mlmon.data_quality.out_of_range_rate' } } } },
        rejected: { avg: { field: 'mlmon.data_quality.rejected_rate' } },
      },
    }),
    search('events', { size: 200, sort: [{ '@timestamp': { order: 'asc' } }], query: { bool: { filter: [range, { terms: { 'event.dataset': ['mlmon.alert', 'mlmon.remediation'] } }] } } }),
  ]);

  const driftBy = new Map(((drift.aggregations?.features as Buckets | undefined)?.buckets ?? []).map((b) => [b.key, b]));
  const pa = predictions.aggregations ?? {};
  const total = predictions.hits.total;
  return {
    from: o.from,
    to: o.to,
    predictions: typeof total === 'number' ? total : (total?.value ?? 0),
    shadow,
    quality: ((quality.aggregations?.versions as Buckets | undefined)?.buckets ?? []).map((b) => ({
      version: b.key,
      windows: b.doc_count,
      accuracy: value(b.accuracy),
      f1: value(b.f1),
      rocAuc: value(b.roc_auc),
      logLoss: value(b.log_loss),
      labelCoverage: value(b.label_coverage),
    })),
    distributions: features.map((f) => {
      const bins = (pa[f] as { buckets: Array<{ doc_count: number }> }).buckets.map((b) => b.doc_count);
      const overflow = (pa[`${f}__over`] as { doc_count: number }).doc_count;
      const window = bins.slice(1);
      window[window.length - 1]! -= overflow;
      const d = driftBy.get(f);
      return {
        feature: f,
        edges: o.profile.features[f]!.histogram.edges,
        reference: o.profile.features[f]!.histogram.counts,
        window,
        underflow: bins[0]!,
        overflow,
        psi: d ? value(d.psi) : null,
        ks: d ? value(d.ks) : null,
        drifted: d ? (d.drifted as { doc_count: number }).doc_count > 0 : false,
      };
    }),
    dataQuality: ((dq.aggregations?.features as Buckets | undefined)?.buckets ?? [])
      .filter((b) => b.key !== '_all')
      .map((b) => ({ feature: b.key, missingRate: value(b.missing), outOfRangeRate: value(b.oor) })),
    rejectedRate: value(dq.aggregations?.rejected),
    judgments,
    events: events.hits.hits.map((h) => h._source as MlmonEvent),
  };
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const num = (v: number | null, digits = 3) => (v === null ? '–' : v.toFixed(digits));

/** Reference (grey) and window (blue) shares per bin, as inline SVG: the file needs nothing but itself. */
function histogramSvg(d: FeatureDistribution): string {
  const share = (xs: number[]) => {
    const sum = xs.reduce((a, b) => a + b, 0) || 1;
    return xs.map((x) => x / sum);
  };
  const ref = share(d.reference);
  const win = share(d.window);
  const max = Math.max(...ref, ...win, 1e-9);
  const w = 300;
  const h = 90;
  const bw = w / ref.length;
  const bars = ref
    .map((r, i) => {
      const rh = (r / max) * h;
      const wh = (win[i]! / max) * h;
      return `<rect class="ref" x="${(i * bw).toFixed(1)}" y="${(h - rh).toFixed(1)}" width="${(bw / 2).toFixed(1)}" height="${rh.toFixed(1)}"/><rect class="win" data-count="${d.window[i]}" x="${(i * bw + bw / 2).toFixed(1)}" y="${(h - wh).toFixed(1)}" width="${(bw / 2).toFixed(1)}" height="${wh.toFixed(1)}"/>`;
    })
    .join('');
  return `<svg viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" role="img" aria-label="${esc(d.feature)} distribution">${bars}</svg>`;
}

const PALETTE = ['#006bb8', '#54b399', '#d36086', '#9170b8'];

/**
 * One judgment over time as inline SVG: the value and the realized figure as
 * lines, the band (two `band` series) shaded between its bounds, thresholds
 * dashed. Each line carries its values (`data-values`) for whoever checks the
 * drawing against the analyzer's documents.
 */
function timeSeriesSvg(p: PanelData): string {
  const times = [...new Set(p.series.flatMap((s) => s.points.map(([t]) => t)))].sort((a, b) => a - b);
  const values = p.series.flatMap((s) => s.points.map(([, v]) => v)).filter((v): v is number => v !== null);
  if (times.length === 0 || values.length === 0) return '<p class="empty">No judged 1-minute windows of the active version in this range.</p>';
  const w = 640;
  const h = 200;
  const pad = 40;
  const [t0, t1] = [times[0]!, times.at(-1)!];
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const span = hi - lo || Math.abs(hi) || 1;
  const [y0, y1] = [lo - span * 0.05, hi + span * 0.05];
  const x = (t: number) => (t1 === t0 ? w / 2 : pad + ((t - t0) / (t1 - t0)) * (w - 2 * pad));
  const y = (v: number) => h - pad / 2 - ((v - y0) / (y1 - y0)) * (h - pad);
  const xy = (pts: Array<[number, number | null]>) => pts.filter(([, v]) => v !== null).map(([t, v]) => `${x(t).toFixed(1)},${y(v!).toFixed(1)}`);
  const shapes: string[] = [];
  p.series.forEach((s, i) => {
    const upper = p.series[i + 1];
    if (s.style === 'band' && upper?.style === 'band' && p.series[i - 1]?.style !== 'band') {
      shapes.push(`<polygon class="band" points="${[...xy(s.points), ...xy(upper.points).reverse()].join(' ')}"/>`);
    }
  });
  let next = 0;
  const legend: string[] = [];
  for (const s of p.series) {
    const cls = s.style ?? 'value';
    // Bands and thresholds take their colours from the stylesheet; values one each.
    const colour = s.style ? undefined : PALETTE[next++ % PALETTE.length];
    const drawn = s.points.filter(([, v]) => v !== null);
    shapes.push(
      `<polyline class="${cls}"${colour ? ` stroke="${colour}"` : ''} data-series="${esc(s.name)}" data-values="${esc(JSON.stringify(drawn.map(([, v]) => v)))}" points="${xy(s.points).join(' ')}"/>`,
    );
    legend.push(`<span class="${cls}"${colour ? ` style="border-color:${colour}"` : ''}>${esc(s.name)}</span>`);
  }
  const time = (t: number) => new Date(t).toISOString().slice(11, 16);
  const axes = `<text x="2" y="${y(hi).toFixed(1)}">${hi.toFixed(3)}</text><text x="2" y="${y(lo).toFixed(1)}">${lo.toFixed(3)}</text><text x="${pad}" y="${h - 2}">${time(t0)}</text><text x="${w - pad}" y="${h - 2}" text-anchor="end">${time(t1)}</text>`;
  return `<svg viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" role="img" aria-label="${esc(p.title)}">${shapes.join('')}${axes}</svg><p class="legend">${legend.join('')}</p>`;
}

export function renderReport(r: ModelReport, profileName: string): string {
  const panel = (p: PanelData) => `<div class="judgment" data-panel="${esc(p.id)}"><h3>${esc(p.title)}</h3>${timeSeriesSvg(p)}</div>`;
  const judgments = r.judgments.map(panel).join('');
  const shadow = r.shadow.filter((p) => p.series.some((s) => s.points.some(([, v]) => v !== null))).map(panel).join('');
  const quality = r.quality
    .map((q) => `<tr><td>${esc(q.version)}</td><td>${q.windows}</td><td>${num(q.accuracy)}</td><td>${num(q.f1)}</td><td>${num(q.rocAuc)}</td><td>${num(q.logLoss)}</td><td>${num(q.labelCoverage)}</td></tr>`)
    .join('');
  const features = r.distributions
    .map(
      (d) =>
        `<div class="feature${d.drifted ? ' drifted' : ''}" data-feature="${esc(d.feature)}"><h3>${esc(d.feature)}${d.drifted ? ' <span class="badge">drifted</span>' : ''}</h3>${histogramSvg(d)}<p>PSI ${num(d.psi)} · KS ${num(d.ks)} · below range ${d.underflow} · above range ${d.overflow}</p></div>`,
    )
    .join('');
  const dq = r.dataQuality.map((d) => `<tr><td>${esc(d.feature)}</td><td>${num(d.missingRate)}</td><td>${num(d.outOfRangeRate)}</td></tr>`).join('');
  const events = r.events.map((e) => `<li>${esc(describeEvent(e).join(' '))}</li>`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>mlmon model report ${esc(r.from)} – ${esc(r.to)}</title>
<style>
body{font:14px system-ui,sans-serif;margin:24px;color:#1a1c21;max-width:1200px}
table{border-collapse:collapse;margin:8px 0}td,th{border-bottom:1px solid #ddd;padding:4px 10px;text-align:left}
.features{display:grid;grid-template-columns:repeat(auto-fill,minmax(320px,1fr));gap:12px}
.feature{border:1px solid #d3dae6;border-radius:4px;padding:8px}.feature.drifted{border-color:#bd271e}
.feature h3{font-size:13px;margin:0 0 4px}.feature p{font-size:12px;margin:4px 0 0;color:#444}
.badge{background:#bd271e;color:#fff;border-radius:3px;padding:0 4px;font-size:11px}
polyline{fill:none;stroke-width:1.5}polyline.band{stroke:#98a2b3;stroke-width:1}polyline.threshold{stroke:#bd271e;stroke-dasharray:6 4}
polygon.band{fill:#98a2b3;fill-opacity:.25;stroke:none}svg text{font-size:10px;fill:#69707d}
.legend span.value,.legend span.band,.legend span.threshold{border-top:2px solid #98a2b3;padding-top:2px;margin-right:12px}
.legend span.threshold{border-top:2px dashed #bd271e}
rect.ref{fill:#98a2b3}rect.win{fill:#006bb8}.legend span{display:inline-block;width:10px;height:10px;margin:0 4px 0 12px}
</style></head><body>
<h1>Model report</h1>
<p>${esc(r.from)} to ${esc(r.to)} · ${r.predictions} predictions · reference: ${esc(profileName)}</p>
<section id="quality"><h2>Quality per version</h2>
${quality ? `<table><tr><th>version</th><th>analyzer windows</th><th>accuracy</th><th>F1</th><th>ROC AUC</th><th>log loss</th><th>label coverage</th></tr>${quality}</table>` : '<p>No quality metrics in this window (no labelled predictions analyzed).</p>'}
<p>Averages over the analyzer's windows in the range.</p></section>
<section id="judgments"><h2>Judgments over time</h2>
<p>The active version's 1-minute windows, as the rules read them: the label-free estimate (CBPE) against the realized accuracy once labels arrive, and the multivariate drift (reconstruction error); each with its band (± 3 standard errors, shaded) and the thresholds the analyzer derived from the reference (dashed).</p>
${judgments}</section>
${shadow ? `<section id="shadow"><h2>Shadow against active</h2>
<p>The shadow's paired analysis over its 1-hour windows: both versions' accuracy on the same labeled requests, their agreement, and McNemar's exact p-value (the shadow-better and shadow-worse rules act below 0.05).</p>
${shadow}</section>` : ''}
<section id="distributions"><h2>Feature distributions against the training reference</h2>
<p class="legend"><span style="background:#98a2b3"></span>training reference<span style="background:#006bb8"></span>this window (share of predictions per training bin). PSI and KS as the analyzer computed them; the worst window in the range.</p>
<div class="features">${features}</div></section>
<section id="data-quality"><h2>Data quality</h2>
<p>Rejected input rate: ${num(r.rejectedRate)}</p>
${dq ? `<table><tr><th>feature</th><th>missing rate</th><th>out-of-range rate</th></tr>${dq}</table>` : '<p>No data-quality metrics in this window.</p>'}</section>
<section id="alerts"><h2>Alerts and remediations</h2>
${events ? `<ul>${events}</ul>` : '<p>None in this window.</p>'}</section>
</body></html>
`;
}
