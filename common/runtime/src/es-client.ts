import { Client, type ClientOptions } from '@elastic/elasticsearch';
import type { EsConfig } from './config.js';

export function esUrl(config: Pick<EsConfig, 'ES_URL' | 'ES_PORT'>): string {
  return config.ES_URL ?? `http://127.0.0.1:${config.ES_PORT}`;
}

/**
 * The one way services build an Elasticsearch client, so that auth, timeouts
 * and retries are the same everywhere. `name` shows up in client diagnostics.
 */
export function createEsClient(
  config: Pick<EsConfig, 'ES_URL' | 'ES_PORT' | 'ES_USERNAME' | 'ES_PASSWORD' | 'ES_API_KEY'>,
  options: { name?: string } & Partial<ClientOptions> = {},
): Client {
  const auth = config.ES_API_KEY
    ? { apiKey: config.ES_API_KEY }
    : config.ES_USERNAME
      ? { username: config.ES_USERNAME, password: config.ES_PASSWORD ?? '' }
      : undefined;
  return new Client({
    node: esUrl(config),
    name: options.name ?? 'mlmon',
    requestTimeout: 30_000,
    // The client retries connection errors and 502/503/504 itself; callers add their own policy for 429.
    maxRetries: 3,
    ...(auth ? { auth } : {}),
    ...options,
  });
}
