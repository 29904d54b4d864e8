/** What the replica's resource samples report of its shadow work (`mlmon.resource.shadow`). */
export interface ShadowCounters {
  queue_depth: number;
  dropped: number;
  errors: number;
  timeouts: number;
  completed: number;
}

export interface BoundedQueueOptions<J> {
  /** Most jobs held at once: reserved, waiting, running, and timed out but not yet settled. */
  capacity: number;
  /** Jobs started together; a batched model answers them in one run. */
  concurrency: number;
  /** A job running longer is abandoned: its slot is freed and its result, if it ever comes, is dropped. */
  timeoutMs: number;
  run: (job: J, signal: AbortSignal) => Promise<void>;
  onError?: (err: Error) => void;
}

/**
 * Work that must never hold up what queued it: a fixed number of slots, and a
 * job that finds none is dropped and counted instead of waiting. Jobs start on
 * a later turn of the event loop (setImmediate), so the turn that queued one,
 * the live request's, finishes first; between batches the loop turns again,
 * so requests that arrived meanwhile are read before the next batch starts.
 *
 * A slot is reserved first and filled later, so that a caller can decide, and
 * say in what it writes, that a copy will be made before it makes it. A job
 * that hangs is abandoned after the timeout but keeps its slot until its
 * promise settles: the bound holds the memory too, however many hang.
 */
export class BoundedQueue<J> {
  private readonly waiting: J[] = [];
  private reserved = 0;
  private running = 0;
  private abandoned = 0;
  private scheduled = false;
  private readonly counts = { dropped: 0, errors: 0, timeouts: 0, completed: 0 };

  constructor(private readonly opts: BoundedQueueOptions<J>) {}

  /** Takes a slot for a job to come, or counts a drop and answers false when none is free. */
  reserve(): boolean {
    if (this.reserved + this.waiting.length + this.running + this.abandoned >= this.opts.capacity) {
      this.counts.dropped += 1;
      return false;
    }
    this.reserved += 1;
    return true;
  }

  /** Fills a reserved slot. */
  submit(job: J): void {
    this.reserved -= 1;
    this.waiting.push(job);
    this.schedule();
  }

  /** Gives a reserved slot back unused. */
  release(): void {
    this.reserved -= 1;
  }

  counters(): ShadowCounters {
    return { queue_depth: this.waiting.length + this.running, ...this.counts };
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.drain);
  }

  private readonly drain = () => {
    this.scheduled = false;
    while (this.running < this.opts.concurrency && this.waiting.length > 0) this.start(this.waiting.shift()!);
  };

  private start(job: J): void {
    this.running += 1;
    const abort = new AbortController();
    let settled = false;
    const timer = setTimeout(() => {
      settled = true;
      abort.abort();
      this.running -= 1;
      this.abandoned += 1;
      this.counts.timeouts += 1;
      this.schedule();
    }, this.opts.timeoutMs);
    const finish = (err?: Error) => {
      if (settled) {
        // A job that timed out settled at last: its slot is free now.
        this.abandoned -= 1;
        return;
      }
      settled = true;
      clearTimeout(timer);
      this.running -= 1;
      if (err) {
        this.counts.errors += 1;
        this.opts.onError?.(err);
      } else this.counts.completed += 1;
      this.schedule();
    };
    // A job that throws synchronously is a failed job like any other.
    Promise.resolve()
      .then(() => this.opts.run(job, abort.signal))
      .then(
        () => finish(),
        (err: unknown) => finish(err instanceof Error ? err : new Error(String(err))),
      );
  }
}
