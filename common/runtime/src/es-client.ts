import { Client, type ClientOptions } from '@elastic/elasticsearch';
import type { EsConfig } from './config.js';

/** The connection part of the Elasticsearch settings; a test may give the nodes as MLMON_ES_URL's text (one URL, or several comma-separated). */
export type EsConnection = Pick<EsConfig, 'MLMON_ES_PORT' | 'MLMON_ES_USERNAME' | 'MLMON_ES_PASSWORD' | 'MLMON_ES_API_KEY'> & {
  MLMON_ES_URL?: string | readonly string[] | undefined;
};

/** The cluster's nodes: MLMON_ES_URL's list, or the local cluster on MLMON_ES_PORT. */
export function esUrls(config: Pick<EsConnection, 'MLMON_ES_URL' | 'MLMON_ES_PORT'>): string[] {
  const given = config.MLMON_ES_URL ?? [];
  const urls = typeof given === 'string' ? given.split(',').map((u) => u.trim()).filter(Boolean) : [...given];
  return urls.length > 0 ? urls : [`http://127.0.0.1:${config.MLMON_ES_PORT}`];
}

/** The nodes as one line for messages and for a child's MLMON_ES_URL. */
export function esUrl(config: Pick<EsConnection, 'MLMON_ES_URL' | 'MLMON_ES_PORT'>): string {
  return esUrls(config).join(',');
}

/**
 * The one way services build an Elasticsearch client, so that auth, timeouts
 * and retries are the same everywhere. `name` shows up in client diagnostics.
 */
export function createEsClient(config: EsConnection, options: { name?: string } & Partial<ClientOptions> = {}): Client {
  const auth = config.MLMON_ES_API_KEY
    ? { apiKey: config.MLMON_ES_API_KEY }
    : config.MLMON_ES_USERNAME
      ? { username: config.MLMON_ES_USERNAME, password: config.MLMON_ES_PASSWORD ?? '' }
      : undefined;
  return new Client({
    // Every node of the list: a request that fails on one (connection error, 502/503/504) is retried on another.
    nodes: esUrls(config),
    // The URLs are the way in (a load balancer, a Service, published ports): the addresses nodes publish may not be reachable from here.
    sniffOnStart: false,
    sniffInterval: false,
    sniffOnConnectionFault: false,
    name: options.name ?? 'mlmon',
    requestTimeout: 30_000,
    // The client retries connection errors and 502/503/504 itself; callers add their own policy for 429.
    maxRetries: 3,
    ...(auth ? { auth } : {}),
    ...options,
  });
}
