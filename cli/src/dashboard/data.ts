import type { estypes } from '@elastic/elasticsearch';
import { DASHBOARDS, metricValue, panelColumns, panelRequest, panelUnit, type Dashboard, type MetricStyle, type Panel } from '@mlmon/kibana';
import type { LogStore } from '../troubleshoot/search.js';

/**
 * The live dashboard shows the Kibana dashboards' own panels (definitions in
 * @mlmon/kibana), answered by the same Elasticsearch requests, so the two
 * views cannot drift apart.
 */
export interface Series {
  name: string;
  /** A confidence bound or a threshold of the series before it (the panel definition's metric style). */
  style?: MetricStyle;
  /** [epoch ms, value] for time panels; for tables the row's keys are the name. */
  points: Array<[number, number | null]>;
}

export interface PanelData {
  dashboard: string;
  id: string;
  title: string;
  kind: Panel['kind'];
  series: Series[];
  /** Panels not over time (tables, bars per replica): one row per bucket combination. */
  rows?: Array<{ keys: string[]; values: Array<number | null> }>;
  /** The rows' column names: the bucket labels, then the metric labels. */
  columns?: string[];
  /** The unit of the values (durations converted from ns to ms, shares to percent), for the axis. */
  unit?: 'ms' | '%';
}

export interface DashboardQuery {
  from: string;
  to: string;
  replica?: string;
  version?: string;
}

// Families whose lines name a model version; the version filter leaves the others alone.
const VERSIONED = new Set(['predictions', 'metrics']);
// Families whose lines a replica writes (service.node.name is the replica); nginx, the analyzer and
// the rule runner name their own hosts there, so the replica filter leaves those panels alone.
const PER_REPLICA = new Set(['predictions', 'feedback', 'resources', 'all']);
// Resource panels of the cluster's health, which the shipper samples: no replica's.
const CLUSTER_PANELS = new Set(['cluster-health', 'cluster-nodes']);

/** About 60 points across the range, on a round number of seconds. */
export function intervalFor(from: string, to: string): string {
  const seconds = Math.max(10, Math.ceil((Date.parse(to) - Date.parse(from)) / 60_000));
  return `${Math.ceil(seconds / 10) * 10}s`;
}

type Agg = { buckets?: Array<Record<string, unknown> & { key: string | number; key_as_string?: string }> };

type Rows = NonNullable<PanelData['rows']>;

// Lens stacks a percentage bar to 100% at each x: every value becomes its share of all values at that x.
function sharesAt<X>(cells: Array<readonly [X, number | null]>): (x: X, v: number | null) => number | null {
  const totals = new Map<X, number>();
  for (const [x, v] of cells) totals.set(x, (totals.get(x) ?? 0) + (v ?? 0));
  return (x, v) => (v === null || !totals.get(x) ? null : v / totals.get(x)!);
}
function sharesOfSeries(series: Series[]): Series[] {
  const share = sharesAt(series.flatMap((s) => s.points));
  return series.map((s) => ({ ...s, points: s.points.map(([t, v]) => [t, share(t, v)]) }));
}
function sharesOfRows(rows: Rows): Rows {
  // A row's x is its last bucket key.
  const share = sharesAt(rows.flatMap((r) => r.values.map((v) => [r.keys.at(-1)!, v] as const)));
  return rows.map((r) => ({ ...r, values: r.values.map((v) => share(r.keys.at(-1)!, v)) }));
}

function toPanelData(dashboard: string, p: Panel, aggs: Record<string, unknown>): PanelData {
  const { buckets, metrics } = panelColumns(p);
  const shown = panelUnit(p);
  const base = { dashboard, id: p.id, title: p.title, kind: p.kind, ...(shown ? { unit: shown.unit } : {}) };
  const percent = p.kind === 'bar_percentage_stacked';
  const value = (node: Record<string, unknown>, i: number) => {
    const v = metricValue(node, i, metrics[i]!);
    return v === null || !shown ? v : v * shown.factor;
  };
  if (buckets.at(-1)?.op !== 'date_histogram') {
    const rows: Rows = [];
    const walk = (node: Record<string, unknown>, depth: number, keys: string[]) => {
      if (depth === buckets.length) return rows.push({ keys, values: metrics.map((_, i) => value(node, i)) });
      for (const b of (node[`b${depth}`] as Agg | undefined)?.buckets ?? []) walk(b, depth + 1, [...keys, String(b.key)]);
    };
    walk(aggs, 0, []);
    const columns = [...buckets.map((b) => (b.op === 'terms' ? b.label : b.field)), ...metrics.map((m) => (percent ? `share of ${m.label}` : m.label))];
    return { ...base, series: [], rows: percent ? sharesOfRows(rows) : rows, columns };
  }
  // Time panels: an optional outer terms bucket (split, or the heatmap's rows), then the date histogram.
  const split = buckets.length === 2;
  const groups: Array<[string, Record<string, unknown>]> = split ? ((aggs.b0 as Agg | undefined)?.buckets ?? []).map((b) => [String(b.key), b]) : [['', aggs]];
  const series: Series[] = [];
  for (const [group, node] of groups) {
    const times = (node[split ? 'b1' : 'b0'] as Agg | undefined)?.buckets ?? [];
    metrics.forEach((m, i) => {
      const name = [group, metrics.length > 1 || !split ? m.label : ''].filter(Boolean).join(' ');
      series.push({ name, ...(m.style ? { style: m.style } : {}), points: times.map((t) => [Number(t.key), value(t, i)]) });
    });
  }
  return { ...base, series: percent ? sharesOfSeries(series) : series };
}

/** The panels with these ids, each with its dashboard, to answer with `dashboardData` (the report draws some of them). */
export function panelsById(ids: string[]): Array<{ d: Dashboard; p: Panel }> {
  const all = DASHBOARDS.flatMap((d) => d.panels.map((p) => ({ d, p })));
  return ids.map((id) => {
    const found = all.find(({ p }) => p.id === id);
    if (!found) throw new Error(`no dashboard panel "${id}"`);
    return found;
  });
}

/** Every panel (or those given) in one _msearch: one round trip per refresh, whatever the number of panels. */
export async function dashboardData(store: LogStore, q: DashboardQuery, panels = DASHBOARDS.flatMap((d) => d.panels.map((p) => ({ d, p })))): Promise<PanelData[]> {
  const interval = intervalFor(q.from, q.to);
  const searches = panels.flatMap(({ p }) => {
    const { index, query, ...body } = panelRequest(p, { prefix: store.prefix, from: q.from, to: q.to, interval });
    const filter = (query!.bool!.filter as estypes.QueryDslQueryContainer[]).slice();
    if (q.replica && PER_REPLICA.has(p.family) && !CLUSTER_PANELS.has(p.id)) filter.push({ term: { 'service.node.name': q.replica } });
    if (q.version && VERSIONED.has(p.family)) filter.push({ term: { 'mlmon.model.version': q.version } });
    return [{ index: index as string, ignore_unavailable: true, allow_no_indices: true }, { ...body, query: { bool: { filter } } }];
  });
  const res = await store.client.msearch({ searches });
  return panels.map(({ d, p }, i) => {
    const r = res.responses[i]!;
    if ('error' in r) throw new Error(`panel "${p.title}": ${r.error.reason ?? r.error.type}`);
    return toPanelData(d.title, p, (r.aggregations ?? {}) as Record<string, unknown>);
  });
}

/** The replicas and model versions seen in the range, for the page's filters. */
export async function filterValues(store: LogStore, q: Pick<DashboardQuery, 'from' | 'to'>): Promise<{ replicas: string[]; versions: string[] }> {
  const res = await store.client.search({
    index: `${store.prefix}-*`,
    size: 0,
    ignore_unavailable: true,
    allow_no_indices: true,
    query: { range: { '@timestamp': { gte: q.from, lte: q.to } } },
    aggs: {
      // Only the replicas' own names: nginx and the other services put their hosts in the same field.
      replicas: { filter: { term: { 'service.name': 'mlmon-api' } }, aggs: { names: { terms: { field: 'service.node.name', size: 50 } } } },
      versions: { terms: { field: 'mlmon.model.version', size: 50 } },
    },
  });
  const keys = (agg: unknown) => ((agg as Agg | undefined)?.buckets ?? []).map((b) => String(b.key)).sort();
  const replicas = res.aggregations?.replicas as { names?: Agg } | undefined;
  return { replicas: keys(replicas?.names), versions: keys(res.aggregations?.versions) };
}
