import type { estypes } from '@elastic/elasticsearch';
import { family, search, sinceToDate, toHits, type Hit, type LogStore } from './search.js';

export interface ReplicaLoad {
  replica: string;
  predictions: number;
  p50Ns: number | null;
  p99Ns: number | null;
}

export interface Top {
  since: string;
  predictions: number;
  /** Predictions by replica, busiest first, with their latency. */
  replicas: ReplicaLoad[];
  /** The slowest prediction lines, slowest first. */
  slowest: Hit[];
  /** nginx answers by status code, for every status >= 400. */
  httpErrors: Array<{ status: number; count: number }>;
  /** Rejected and failed requests by the api's machine-readable error code. */
  errorCodes: Array<{ code: string; count: number; field?: string }>;
}

type Terms = estypes.AggregationsStringTermsAggregate | estypes.AggregationsLongTermsAggregate;
const buckets = (agg: estypes.AggregationsAggregate | undefined) => ((agg as Terms | undefined)?.buckets ?? []) as Array<Record<string, unknown> & { key: string | number; doc_count: number }>;
const percentile = (agg: unknown, p: string): number | null => {
  const values = (agg as estypes.AggregationsTDigestPercentilesAggregate | undefined)?.values as Record<string, number | null> | undefined;
  return values?.[p] ?? null;
};

/** What is slow and what fails, over the last `since`: three searches, one per family involved. */
export async function topReport(store: LogStore, opts: { since: string; size: number }): Promise<Top> {
  const range = { range: { '@timestamp': { gte: sinceToDate(opts.since).toISOString() } } };
  const [predictions, nginx, app] = await Promise.all([
    search(store, family(store.prefix, 'predictions'), {
      query: { bool: { filter: [range] } },
      sort: [{ 'event.duration': { order: 'desc', unmapped_type: 'long' } }],
      size: opts.size,
      track_total_hits: true,
      aggs: {
        replicas: {
          terms: { field: 'service.node.name', size: 50 },
          aggs: { latency: { percentiles: { field: 'event.duration', percents: [50, 99] } } },
        },
      },
    }),
    search(store, family(store.prefix, 'nginx'), {
      size: 0,
      query: { bool: { filter: [range, { range: { 'http.response.status_code': { gte: 400 } } }] } },
      aggs: { status: { terms: { field: 'http.response.status_code', size: 50 } } },
    }),
    search(store, family(store.prefix, 'events'), {
      size: 0,
      query: { bool: { filter: [range, { term: { 'event.dataset': 'mlmon.app' } }, { exists: { field: 'error.code' } }] } },
      aggs: { codes: { terms: { field: 'error.code', size: 50 }, aggs: { field: { terms: { field: 'mlmon.app.field', size: 1 } } } } },
    }),
  ]);
  const total = predictions.hits.total;
  return {
    since: opts.since,
    predictions: typeof total === 'number' ? total : (total?.value ?? 0),
    replicas: buckets(predictions.aggregations?.replicas).map((b) => ({
      replica: String(b.key),
      predictions: b.doc_count,
      p50Ns: percentile(b.latency, '50.0'),
      p99Ns: percentile(b.latency, '99.0'),
    })),
    slowest: toHits(predictions),
    httpErrors: buckets(nginx.aggregations?.status).map((b) => ({ status: Number(b.key), count: b.doc_count })),
    errorCodes: buckets(app.aggregations?.codes).map((b) => {
      const field = buckets(b.field as estypes.AggregationsAggregate)[0]?.key;
      return { code: String(b.key), count: b.doc_count, ...(field !== undefined ? { field: String(field) } : {}) };
    }),
  };
}
