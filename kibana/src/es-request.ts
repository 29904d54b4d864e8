import type { estypes } from '@elastic/elasticsearch';
import { panelColumns, type Bucket, type Metric, type Panel } from './model.js';
import { dataViewPattern } from './saved-objects.js';

/**
 * A panel as the Elasticsearch search Kibana sends for it: the panel's query
 * (Lucene, through query_string, as Kibana does for `language: lucene`) and
 * the time range as filters; each bucket dimension nested in the previous
 * one, the metrics innermost. Kibana is not needed to know a panel works: this
 * request, run on real data, must return buckets with values.
 */
export function panelRequest(p: Panel, opts: { prefix: string; from: string; to: string; interval?: string }): estypes.SearchRequest {
  const { buckets, metrics } = panelColumns(p);
  const metricAggs = Object.fromEntries(metrics.flatMap((m, i) => (m.op === 'count' ? [] : [[`m${i}`, metricAgg(m)]])));
  let aggs: Record<string, estypes.AggregationsAggregationContainer> = metricAggs;
  for (let i = buckets.length - 1; i >= 0; i--) aggs = { [`b${i}`]: { ...bucketAgg(buckets[i]!, opts.interval ?? '1m'), aggs } };
  return {
    index: dataViewPattern(opts.prefix, p.family),
    size: 0,
    query: { bool: { filter: [...(p.query ? [{ query_string: { query: p.query } }] : []), { range: { '@timestamp': { gte: opts.from, lte: opts.to } } }] } },
    aggs,
  };
}

function bucketAgg(b: Bucket, interval: string): estypes.AggregationsAggregationContainer {
  return b.op === 'date_histogram' ? { date_histogram: { field: b.field, fixed_interval: interval, min_doc_count: 1 } } : { terms: { field: b.field, size: b.size } };
}

function metricAgg(m: Exclude<Metric, { op: 'count' }>): estypes.AggregationsAggregationContainer {
  switch (m.op) {
    case 'share':
      return { filter: { query_string: { query: m.where } } };
    case 'average':
      return { avg: { field: m.field } };
    case 'median':
      return { percentiles: { field: m.field, percents: [50] } };
    case 'percentile':
      return { percentiles: { field: m.field, percents: [m.percentile] } };
    case 'unique_count':
      return { cardinality: { field: m.field } };
    default:
      return { [m.op]: { field: m.field } };
  }
}

/** The value of the panel's metric `i` in a bucket of its answer (null where it had none). */
export function metricValue(node: Record<string, unknown>, i: number, m: Metric): number | null {
  const count = node.doc_count as number | undefined;
  if (m.op === 'count') return count ?? null;
  const agg = node[`m${i}`] as { value?: number | null; values?: Record<string, number | null>; doc_count?: number } | undefined;
  if (m.op === 'share') return count ? (agg?.doc_count ?? 0) / count : null;
  return agg?.value ?? Object.values(agg?.values ?? {})[0] ?? null;
}

/** The innermost buckets of a panel's answer, each with its metric values (null where the metric had no value). */
export function leafRows(p: Panel, aggregations: Record<string, unknown> | undefined): Array<Array<number | null>> {
  const { buckets, metrics } = panelColumns(p);
  const values = (node: Record<string, unknown>) => metrics.map((m, i) => metricValue(node, i, m));
  const walk = (node: Record<string, unknown>, depth: number): Array<Array<number | null>> => {
    if (depth === buckets.length) return [values(node)];
    const list = (node[`b${depth}`] as { buckets?: Array<Record<string, unknown>> } | undefined)?.buckets ?? [];
    return list.flatMap((b) => walk(b, depth + 1));
  };
  return walk({ ...(aggregations ?? {}), doc_count: undefined }, 0);
}
