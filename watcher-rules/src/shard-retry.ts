/**
 * An index that is being created (the day's first document, a runner's history
 * index created by another runner a moment ago) answers reads with
 * `no_shard_available_action_exception` until its primary shard has started,
 * usually within a second. That is not a failure of the rule: the tick waits
 * for the shard and tries again, within bounds, instead of recording a failure.
 */
const STARTING = new Set(['no_shard_available_action_exception', 'unavailable_shards_exception']);

interface EsErrorBody {
  type?: string;
  root_cause?: Array<{ type?: string }>;
  failed_shards?: Array<{ reason?: { type?: string } }>;
}

/** Whether Elasticsearch refused only because a shard has not started yet (every cause says so). */
export function isShardStarting(err: unknown): boolean {
  const e = (err as { meta?: { body?: { error?: EsErrorBody } } }).meta?.body?.error;
  if (!e) return false;
  const types = [e.type, ...(e.root_cause ?? []).map((c) => c.type), ...(e.failed_shards ?? []).map((f) => f.reason?.type)].filter((t): t is string => t !== undefined);
  // A search that failed on every shard wraps the shards' reasons in search_phase_execution_exception.
  const causes = types.filter((t) => t !== 'search_phase_execution_exception');
  return causes.length > 0 && causes.every((t) => STARTING.has(t));
}

export interface ShardRetry {
  /** Waits before each retry, in milliseconds; their count bounds the attempts. */
  backoffMs: readonly number[];
  onRetry?: (attempt: number, err: unknown) => void;
}

/** 250 ms doubling to 4 s: about 7.5 s in all, well inside the shortest rule interval (15 s). */
export const SHARD_RETRY: ShardRetry = { backoffMs: [250, 500, 1000, 2000, 4000] };

export async function retryWhileShardStarts<T>(fn: () => Promise<T>, o: ShardRetry = SHARD_RETRY): Promise<T> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await fn();
    } catch (err) {
      const wait = o.backoffMs[attempt];
      if (wait === undefined || !isShardStarting(err)) throw err;
      o.onRetry?.(attempt + 1, err);
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}
