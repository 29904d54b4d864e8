import type { estypes } from '@elastic/elasticsearch';
import { LOG_LEVELS, isDataset, DATASETS } from '@mlmon/contract';
import { allFamilies, newestFirst, search, sinceToDate, timeSort, toHits, type Hit, type LogStore } from './search.js';

export interface LogsQuery {
  dataset?: string;
  /** `service.node.name`: replica-2, or the node name of nginx, the shipper, the supervisor. */
  replica?: string;
  level?: string;
  since: string;
  /** Lucene query string, as in Kibana's search bar: `error.code:unknown_feature AND mlmon.model.version:v2`. */
  query?: string;
  size: number;
}

/** The filter of `mlmon logs`; a bad flag is refused with its name before anything is searched. */
export function logsFilter(q: LogsQuery, now = Date.now()): estypes.QueryDslQueryContainer {
  const filter: estypes.QueryDslQueryContainer[] = [{ range: { '@timestamp': { gte: sinceToDate(q.since, '--since', now).toISOString() } } }];
  if (q.dataset !== undefined) {
    if (!isDataset(q.dataset)) throw new Error(`--dataset must be one of ${Object.keys(DATASETS).join(', ')} (got "${q.dataset}")`);
    filter.push({ term: { 'event.dataset': q.dataset } });
  }
  if (q.level !== undefined) {
    if (!(LOG_LEVELS as readonly string[]).includes(q.level)) throw new Error(`--level must be one of ${LOG_LEVELS.join(', ')} (got "${q.level}")`);
    filter.push({ term: { 'log.level': q.level } });
  }
  if (q.replica !== undefined) filter.push({ term: { 'service.node.name': q.replica } });
  // lenient: a word in the query must not fail on numeric fields it cannot match.
  if (q.query !== undefined) filter.push({ query_string: { query: q.query, lenient: true } });
  return { bool: { filter } };
}

/** The newest `size` matching lines, oldest first like a log file. */
export async function searchLogs(store: LogStore, q: LogsQuery): Promise<Hit[]> {
  const res = await search(store, allFamilies(store.prefix), { query: logsFilter(q), sort: newestFirst, size: q.size });
  return toHits(res).reverse();
}

const key = (h: Hit) => `${h.index}/${h.id}`;

export interface FollowOptions {
  intervalMs: number;
  /**
   * Lines reach Elasticsearch a little after their @timestamp (the shipper
   * batches, replicas flush), so each poll looks back this far and drops what
   * it already printed; a line shipped later than that is missed, as in any
   * tail of a search index.
   */
  lagMs: number;
  signal: AbortSignal;
}

/**
 * `--follow`: the last lines, then every new matching line as it is indexed,
 * until the signal aborts. Polls a search rather than holding a scroll or a
 * point in time open: new documents appear in neither.
 */
export async function followLogs(store: LogStore, q: LogsQuery, onLine: (h: Hit) => void, o: FollowOptions): Promise<void> {
  const printed = new Map<string, number>();
  const emit = (h: Hit) => {
    if (printed.has(key(h))) return;
    printed.set(key(h), Date.parse(h.event['@timestamp']));
    onLine(h);
  };
  (await searchLogs(store, q)).forEach(emit);
  while (!o.signal.aborted) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, o.intervalMs);
      o.signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
    });
    if (o.signal.aborted) break;
    const from = Date.now() - o.lagMs;
    const filter = logsFilter(q);
    const res = await search(store, allFamilies(store.prefix), {
      query: { bool: { filter: [filter, { range: { '@timestamp': { gte: new Date(from).toISOString() } } }] } },
      sort: timeSort,
      size: 1000,
    });
    toHits(res).forEach(emit);
    // Forget what is older than any future poll can return, so a long follow holds little memory.
    for (const [k, at] of printed) if (at < from) printed.delete(k);
  }
}
