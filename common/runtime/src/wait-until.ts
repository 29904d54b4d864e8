import { setTimeout as sleep } from 'node:timers/promises';

export interface WaitOptions {
  timeoutMs: number;
  intervalMs?: number;
  /** Names what was awaited in the timeout error, e.g. "replica-1 ready". */
  what?: string;
  /** Why the wait ended early as a failure, e.g. the process it waits for has exited. */
  abortIf?: () => string | undefined;
}

/**
 * Polls `check` until it returns something other than undefined or false, and
 * returns that. A check that throws counts as "not yet" (a server not
 * listening yet); the last error is quoted when the wait times out, so a
 * failure says what went wrong rather than only that time ran out.
 */
export async function waitUntil<T>(check: () => T | undefined | false | Promise<T | undefined | false>, opts: WaitOptions): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  let lastError: unknown;
  for (;;) {
    const aborted = opts.abortIf?.();
    if (aborted) throw new Error(`${opts.what ?? 'wait'}: ${aborted}`);
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const cause = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`${opts.what ?? 'condition'} not met within ${opts.timeoutMs / 1000} s${cause}`);
    }
    await sleep(opts.intervalMs ?? 100);
  }
}
