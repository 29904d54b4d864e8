import type { estypes } from '@elastic/elasticsearch';
import ms from 'ms';
import type { MlmonEvent } from '@mlmon/contract';
import { isOf } from './format.js';
import { allFamilies, family, search, timeSort, toHits, type Hit, type LogStore } from './search.js';

export interface Trace {
  /** What was asked for: a request id (nginx's X-Request-ID) or a prediction id. */
  id: string;
  requestIds: string[];
  predictionIds: string[];
  /** Every line of the request and its predictions, oldest first. */
  lines: Hit[];
  /** Alerts and remediations within `aroundMs` of those lines: what the system did about the time of the request. */
  around: Hit[];
}

// A batch request has one prediction line per row; no request of the api holds more than this.
const MAX_LINES = 1000;

const requestIdOf = (e: MlmonEvent): string | undefined =>
  isOf(e, 'nginx.access') || isOf(e, 'mlmon.prediction') ? e.http.request.id : isOf(e, 'mlmon.app') ? e.http?.request.id : undefined;
const predictionIdOf = (e: MlmonEvent): string | undefined => (isOf(e, 'mlmon.prediction') || isOf(e, 'mlmon.feedback') ? e.mlmon.prediction.id : undefined);

const unique = (xs: Array<string | undefined>) => [...new Set(xs.filter((x): x is string => x !== undefined))];

function linesOf(store: LogStore, requestIds: string[], predictionIds: string[]) {
  const should: estypes.QueryDslQueryContainer[] = [];
  if (requestIds.length) should.push({ terms: { 'http.request.id': requestIds } });
  if (predictionIds.length) should.push({ terms: { 'mlmon.prediction.id': predictionIds } });
  return search(store, allFamilies(store.prefix), { query: { bool: { should, minimum_should_match: 1 } }, sort: timeSort, size: MAX_LINES }).then(toHits);
}

/**
 * Everything about one request, found from either of its ids: the lines that
 * carry the id, then the lines that share a request or prediction id with
 * those (nginx's line and a rejected request's app line carry the request id,
 * feedback carries only the prediction id), then the alerts and remediations
 * around that time.
 */
export async function traceRequest(store: LogStore, id: string, opts: { around?: string } = {}): Promise<Trace> {
  const aroundMs = ms((opts.around ?? '15m') as ms.StringValue);
  if (typeof aroundMs !== 'number' || !(aroundMs >= 0)) throw new Error(`--around must be a duration such as 15m (got "${opts.around}")`);
  const first = await linesOf(store, [id], [id]);
  if (first.length === 0) {
    throw new Error(`no indexed line carries request id or prediction id "${id}" in ${allFamilies(store.prefix)} (lines reach Elasticsearch a few seconds after they are written)`);
  }
  const requestIds = unique(first.map((h) => requestIdOf(h.event)));
  const predictionIds = unique(first.map((h) => predictionIdOf(h.event)));
  const lines = await linesOf(store, requestIds, predictionIds);
  // A prediction found by its id leads to its request; that request's other predictions (a batch) belong too.
  const allPredictionIds = unique([...predictionIds, ...lines.map((h) => predictionIdOf(h.event))]);
  const complete = allPredictionIds.length > predictionIds.length ? await linesOf(store, requestIds, allPredictionIds) : lines;

  const times = complete.map((h) => Date.parse(h.event['@timestamp']));
  const from = new Date(Math.min(...times) - aroundMs).toISOString();
  const to = new Date(Math.max(...times) + aroundMs).toISOString();
  const around = toHits(
    await search(store, family(store.prefix, 'events'), {
      query: {
        bool: {
          filter: [{ terms: { 'event.dataset': ['mlmon.alert', 'mlmon.remediation'] } }, { range: { '@timestamp': { gte: from, lte: to } } }],
        },
      },
      sort: timeSort,
      size: 100,
    }),
  );
  return { id, requestIds, predictionIds: allPredictionIds, lines: complete, around };
}
