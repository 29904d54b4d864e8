import type { Client, estypes } from '@elastic/elasticsearch';
import { renderJson, renderTemplate } from './mustache.js';
import { parseTimeValue } from './duration.js';
import { evalPath } from './object-path.js';
import type { SearchRequest } from './schema.js';
import { retryWhileShardStarts } from '../shard-retry.js';

/** What a search input or transform sent, for the execution record. rest_total_hits_as_int defaults to true, as in WatcherSearchTemplateRequest. */
export interface RenderedSearch {
  indices: string[];
  body: Record<string, unknown>;
  rest_total_hits_as_int: boolean;
}

export function renderSearch(request: SearchRequest, model: Record<string, unknown>): RenderedSearch {
  let body: unknown;
  if (request.body) body = renderJson(request.body, model);
  else {
    // A search template's params are visible beside ctx, as Watcher merges them into the model.
    const params = { ...(request.template!.params ?? {}), ...model };
    const text = renderTemplate(request.template!.source, params, 'json');
    try {
      body = JSON.parse(text);
    } catch (err) {
      throw new Error(`the rendered search template is not JSON (${(err as Error).message}): ${text.slice(0, 500)}`);
    }
  }
  return { indices: request.indices, body: body as Record<string, unknown>, rest_total_hits_as_int: request.rest_total_hits_as_int ?? true };
}

/**
 * Runs a rendered search the way Watcher does: missing indices are not an
 * error (ignore_unavailable and allow_no_indices default to true in Watcher's
 * search requests), and the response becomes the payload.
 */
export async function runSearch(client: Client, request: SearchRequest, rendered: RenderedSearch, timeout?: string): Promise<Record<string, unknown>> {
  const options = request.indices_options ?? {};
  // An index still being created is waited for within the tick (shard-retry.ts), not recorded as a failed input.
  const response = await retryWhileShardStarts(() => client.search(
    {
      index: rendered.indices,
      ...(rendered.body as estypes.SearchRequest),
      ignore_unavailable: options.ignore_unavailable ?? true,
      allow_no_indices: options.allow_no_indices ?? true,
      expand_wildcards: options.expand_wildcards ?? 'open',
      rest_total_hits_as_int: rendered.rest_total_hits_as_int,
      ...(request.search_type ? { search_type: request.search_type } : {}),
    },
    timeout ? { requestTimeout: parseTimeValue(timeout, 'timeout') } : {},
  ));
  return response as unknown as Record<string, unknown>;
}

/** `extract`: keeps only the listed paths of the response, nested as they were. */
export function extract(payload: Record<string, unknown>, paths: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const path of paths) {
    const value = evalPath(path, payload);
    if (value === null) continue;
    const parts = path.split('.');
    let at = out;
    for (const part of parts.slice(0, -1)) at = (at[part] ??= {}) as Record<string, unknown>;
    at[parts.at(-1)!] = value;
  }
  return out;
}
