import type { IndexFamily } from '@mlmon/contract';
import { FIELDS, queryFields, type FieldName } from './fields.js';

/**
 * What a panel shows, independent of how Kibana stores it: a family, an
 * optional Lucene query (Kibana and Elasticsearch's query_string read the
 * same syntax, so the ES request of a panel runs the very query Kibana runs),
 * bucket dimensions and metrics. lens.ts renders it as a Lens visualization,
 * es-request.ts as the equivalent Elasticsearch aggregation.
 */
export type Metric = (
  | { op: 'count'; label: string }
  | { op: 'average' | 'max' | 'min' | 'sum' | 'median' | 'unique_count'; field: FieldName; label: string }
  | { op: 'percentile'; field: FieldName; percentile: number; label: string }
  /**
   * The share of a bucket's lines that match a Lucene query (0 to 1): a ratio without pipeline aggregations
   * (the cluster has none), a `filter` sub-aggregation over the bucket's count; in Lens a formula. A share
   * of failures reads at a glance where a percentage-stacked split by outcome draws success near 1.
   */
  | { op: 'share'; where: string; label: string }
) & {
  /**
   * How a line is drawn beside the value it qualifies: `band`, the two
   * confidence bounds of the metric before them (shaded between them on the
   * live dashboard); `threshold`, a limit the analyzer judged the value against.
   */
  style?: MetricStyle;
};

export type MetricStyle = 'band' | 'threshold';

export type Bucket = { op: 'date_histogram'; field: '@timestamp' } | { op: 'terms'; field: FieldName; size: number; label: string };

interface PanelBase {
  id: string;
  title: string;
  /** A family's data view, or `all` for a panel that sets lines of two families side by side. */
  family: DataViewKey;
  query?: string;
}

/**
 * An XY panel's x is time, or a terms bucket for a comparison over the whole
 * range (a percentage-stacked bar per replica: the share of its lines at each log level).
 */
export type Panel = PanelBase &
  (
    | { kind: 'line' | 'bar_stacked' | 'bar_percentage_stacked'; x: Bucket; split?: Bucket & { op: 'terms' }; metrics: Metric[] }
    | { kind: 'heatmap'; x: Bucket & { op: 'date_histogram' }; y: Bucket & { op: 'terms' }; metric: Metric }
    | { kind: 'table'; rows: Array<Bucket & { op: 'terms' }>; metrics: Metric[] }
    | { kind: 'metric'; metric: Metric }
  );

export interface Dashboard {
  id: string;
  title: string;
  description: string;
  panels: Panel[];
}

/** The data view a saved search reads: one family, or every mlmon index (`all`). */
export type DataViewKey = IndexFamily | 'all';

export interface SavedSearch {
  id: string;
  title: string;
  description: string;
  dataView: DataViewKey;
  query: string;
  columns: FieldName[];
  sort: Array<[FieldName, 'asc' | 'desc']>;
}

/** The dimensions and metrics of a panel, in the order Lens lists its columns. */
export function panelColumns(p: Panel): { buckets: Bucket[]; metrics: Metric[] } {
  switch (p.kind) {
    case 'heatmap':
      return { buckets: [p.y, p.x], metrics: [p.metric] };
    case 'table':
      return { buckets: p.rows, metrics: p.metrics };
    case 'metric':
      return { buckets: [], metrics: [p.metric] };
    default:
      return { buckets: p.split ? [p.split, p.x] : [p.x], metrics: p.metrics };
  }
}

/** The fields a panel aggregates on, and those its queries name (the panel's and its metrics' `where`). */
export function fieldsOf(p: Panel): { charted: FieldName[]; queried: string[] } {
  const { buckets, metrics } = panelColumns(p);
  return {
    charted: [...buckets.map((b) => b.field), ...metrics.flatMap((m) => ('field' in m ? [m.field] : []))],
    queried: [p.query ?? '', ...metrics.map((m) => (m.op === 'share' ? m.where : ''))].flatMap(queryFields),
  };
}

/**
 * How a panel's values are shown: durations (stored in ns) as milliseconds, shares as percent. The panel
 * converts (the live dashboard multiplies by `factor`, Lens formats the field or column) and names the unit
 * on its axis. Only when every metric agrees: a panel mixing units keeps raw values.
 */
export function panelUnit(p: Panel): { unit: 'ms' | '%'; factor: number } | undefined {
  const units = panelColumns(p).metrics.map((m) => (m.op === 'share' ? '%' : 'field' in m && (FIELDS[m.field] as { unit?: string }).unit === 'ns' ? 'ms' : undefined));
  if (!units.length || units.some((u) => u !== units[0]) || !units[0]) return undefined;
  return units[0] === 'ms' ? { unit: 'ms', factor: 1e-6 } : { unit: '%', factor: 100 };
}
