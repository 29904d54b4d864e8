import type { Client, estypes } from '@elastic/elasticsearch';
import { familyPattern, type IndexFamily, type MlmonEvent } from '@mlmon/contract';
import { createEsClient, durationMs, loadEsConfig } from '@mlmon/runtime';

/** Where the troubleshooting commands read: the configured cluster and index prefix. */
export interface LogStore {
  client: Client;
  prefix: string;
}

export function logStoreFromEnv(env?: Record<string, string | undefined>): LogStore {
  const config = loadEsConfig(env);
  return { client: createEsClient(config, { name: 'mlmon-cli' }), prefix: config.MLMON_INDEX_PREFIX };
}

/** One indexed line: the event as shipped, and where it lives. */
export interface Hit {
  index: string;
  id: string;
  event: MlmonEvent;
}

export const allFamilies = (prefix: string) => `${prefix}-*`;
export const family = (prefix: string, f: IndexFamily) => familyPattern(prefix, f);

/** `15m`, `2h`, `30s`, `1d` (a duration as every setting takes one) to a start instant; the flag is named on a bad value. */
export function sinceToDate(since: string, flag = '--since', now = Date.now()): Date {
  const span = durationMs(since);
  if (span === undefined || span <= 0) {
    throw new Error(`${flag} must be a duration such as 30s, 15m, 2h or 1d (got "${since}")`);
  }
  return new Date(now - span);
}

export const toHits = (res: estypes.SearchResponse<MlmonEvent>): Hit[] =>
  res.hits.hits.map((h) => ({ index: h._index, id: h._id!, event: h._source! }));

/**
 * Searches with the options every troubleshooting read shares: a pattern that
 * matches no index yet (a fresh deployment) is an empty answer, not an error,
 * and a field missing from one family's mapping sorts as absent.
 */
export async function search(store: LogStore, index: string, body: Omit<estypes.SearchRequest, 'index'>): Promise<estypes.SearchResponse<MlmonEvent>> {
  try {
    return await store.client.search<MlmonEvent>({ index, ignore_unavailable: true, allow_no_indices: true, ...body });
  } catch (err) {
    // Elasticsearch explains a malformed query string deep inside its error body; surface that sentence.
    const meta = (err as { meta?: { body?: { error?: { root_cause?: Array<{ reason?: string }>; caused_by?: { reason?: string } } } } }).meta;
    const reason = meta?.body?.error?.caused_by?.reason ?? meta?.body?.error?.root_cause?.[0]?.reason;
    if (reason) throw new Error(`Elasticsearch refused the search on ${index}: ${reason}`);
    throw err;
  }
}

// event.sequence breaks ties between one process's lines written in the same millisecond.
export const timeSort: estypes.Sort = [{ '@timestamp': { order: 'asc' } }, { 'event.sequence': { order: 'asc', unmapped_type: 'long' } }];
export const newestFirst: estypes.Sort = [{ '@timestamp': { order: 'desc' } }, { 'event.sequence': { order: 'desc', unmapped_type: 'long' } }];
