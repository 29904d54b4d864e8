import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@elastic/elasticsearch';
import type { Cursor, Segment } from './cursor.js';
import type { DeadLetterFile } from './dead-letter.js';

/** One line on its way to Elasticsearch: the raw line is the document, sent as written. */
export interface Doc {
  index: string;
  id: string;
  line: string;
  cursor: Cursor;
  offset: number;
}

interface Batch {
  docs: Doc[];
  bytes: number;
  segments: Segment[];
  openedAt: number;
}

/** The bulk action line around each document: `{"create":{"_index":"…","_id":"…"}}` and two newlines. */
const ACTION_OVERHEAD_BYTES = 34;
const BACKOFF_BASE_MS = 100;

export interface BulkWriterOptions {
  client: Client;
  flushBytes: number;
  flushIntervalMs: number;
  concurrency: number;
  backoffMaxMs: number;
  deadLetter: DeadLetterFile;
  /** Runs once before the first bulk request (template setup), retried like a bulk request until it succeeds. */
  prepare?: () => Promise<unknown>;
  /** A cursor's acknowledged offset moved: it may be checkpointed. */
  onAcknowledged: (cursor: Cursor) => void;
  /** Elasticsearch stopped accepting (with the reason), or accepts again (undefined, with how long it did not). */
  onAvailability: (problem: string | undefined, downForMs: number) => void;
}

/**
 * Batches lines and indexes them with the client's bulk helper, and tells
 * which lines Elasticsearch has acknowledged.
 *
 * Every batch is one helper run, and the run's end is the batch's
 * acknowledgement. The 8.8 helper reports no per-document success and ends a
 * whole run at the first request that fails, so one long run over all lines
 * could tell neither which lines to checkpoint nor survive an outage.
 * Flushing by bytes and interval, concurrency and backoff are therefore done
 * here, around the helper.
 *
 * Only `create` is sent, with deterministic ids: resending a batch after an
 * error is always safe, because what already landed answers 409.
 */
export class BulkWriter {
  indexed = 0;
  retried = 0;
  private current = emptyBatch();
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private waiting: Array<() => void> = [];
  private released = false;
  private closing = false;
  private readonly abandon = new AbortController();
  private ready: Promise<boolean> | undefined;
  private downSince: number | undefined;

  constructor(private readonly opts: BulkWriterOptions) {}

  /**
   * Adds the line ending at `end` to the current batch: with a document, or
   * without one when the line was dead-lettered (its offset must still pass
   * through the batch, so the checkpoint moves over it in order).
   */
  add(cursor: Cursor, end: number, oldest: number, doc?: Doc): void {
    const batch = this.current;
    const last = batch.segments.at(-1);
    if (last?.cursor === cursor) last.end = end;
    else {
      batch.segments.push(cursor.openSegment(end, oldest));
      if (batch.segments.length === 1) {
        batch.openedAt = Date.now();
        this.timer = setTimeout(() => this.dispatchIfFree(), this.opts.flushIntervalMs);
      }
    }
    if (doc) {
      batch.docs.push(doc);
      // end - offset: the line's bytes and its newline, known from the file without measuring the string.
      batch.bytes += end - doc.offset + doc.index.length + doc.id.length + ACTION_OVERHEAD_BYTES;
      if (batch.bytes >= this.opts.flushBytes) this.dispatchIfFree();
    }
  }

  /**
   * True when the current batch is full and every request slot is busy: the
   * reader must wait (room()) before adding more. This is what bounds memory
   * to about (concurrency + 1) × flushBytes while Elasticsearch is slow or down.
   */
  get full(): boolean {
    return this.current.bytes >= this.opts.flushBytes;
  }

  room(): Promise<void> {
    if (!this.full || this.released) return Promise.resolve();
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Lets a reader blocked in room() go, so it can stop. */
  releaseReaders(): void {
    this.released = true;
    this.notify();
  }

  /**
   * Sends what is batched and waits until everything is acknowledged. After
   * timeoutMs it gives up on the rest, which stays unacknowledged and is read
   * again at the next start. Returns whether everything was acknowledged.
   */
  async close(timeoutMs: number): Promise<boolean> {
    this.closing = true;
    this.dispatchIfFree();
    const drained = new Promise<boolean>((resolve) => {
      const check = () => (this.idle ? resolve(true) : this.waiting.push(check));
      check();
    });
    const timeout = sleep(timeoutMs, false, { ref: false });
    const complete = await Promise.race([drained, timeout]);
    clearTimeout(this.timer);
    this.abandon.abort();
    return complete;
  }

  get idle(): boolean {
    return this.inFlight === 0 && this.current.segments.length === 0;
  }

  private dispatchIfFree(): void {
    const batch = this.current;
    if (batch.segments.length === 0 || this.inFlight >= this.opts.concurrency) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.current = emptyBatch();
    this.inFlight += 1;
    void this.deliver(batch).then((delivered) => {
      this.inFlight -= 1;
      if (delivered) this.acknowledge(batch);
      // A batch left waiting for a slot is sent now if it is full, due, or we are closing.
      const waiting = this.current;
      if (this.full || this.closing || Date.now() - waiting.openedAt >= this.opts.flushIntervalMs) this.dispatchIfFree();
      this.notify();
    });
  }

  private notify(): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const wake of waiting) wake();
  }

  private acknowledge(batch: Batch): void {
    for (const segment of batch.segments) segment.done = true;
    for (const segment of batch.segments) if (segment.cursor.settle()) this.opts.onAcknowledged(segment.cursor);
  }

  /** Resends until every document is acknowledged; false only when abandoned at shutdown. */
  private async deliver(batch: Batch): Promise<boolean> {
    let docs = batch.docs;
    if (docs.length > 0 && !(await (this.ready ??= this.prepare()))) return false;
    for (let attempt = 0; docs.length > 0; attempt++) {
      const { retry, problem } = await this.bulkOnce(docs);
      if (retry.length === 0) break;
      this.unavailable(problem);
      this.retried += retry.length;
      docs = retry;
      if (!(await this.backoff(attempt))) return false;
    }
    this.available();
    return true;
  }

  private async prepare(): Promise<boolean> {
    if (!this.opts.prepare) return true;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.opts.prepare();
        return true;
      } catch (err) {
        this.unavailable(describe(err));
        if (!(await this.backoff(attempt))) return false;
      }
    }
  }

  /**
   * One bulk request. Per item: created or 409 (already indexed by an earlier
   * attempt) is done; 400 means the document itself is refused (a mapping
   * conflict), so it is dead-lettered; anything else (429, 5xx, a closed or
   * read-only index) is the cluster's state, so the document is kept and sent
   * again. A failed request (connection refused, 5xx) resends everything.
   */
  private async bulkOnce(docs: Doc[]): Promise<{ retry: Doc[]; problem: string }> {
    const retry: Doc[] = [];
    let problem = '';
    let rejected = 0;
    let byId: Map<string, Doc> | undefined;
    try {
      await this.opts.client.helpers.bulk<Doc>({
        datasource: docs,
        onDocument: (doc) => [{ create: { _index: doc.index, _id: doc.id } }, doc.line],
        // Per item only what the helper reads: a tenth of the response for Elasticsearch to write and us to parse.
        filter_path: 'errors,items.*.status,items.*.error',
        // The batch is already sized: one request per helper run. Item retries are ours, with backoff.
        flushBytes: Number.MAX_SAFE_INTEGER,
        concurrency: 1,
        retries: 0,
        onDrop: (drop) => {
          if (drop.status === 409) return;
          const id = (drop.operation as { create: { _id: string } }).create._id;
          const doc = (byId ??= new Map(docs.map((d) => [d.id, d]))).get(id)!;
          const reason = `${drop.status} ${drop.error?.type ?? 'error'}: ${drop.error?.reason ?? 'no reason given'}`;
          if (drop.status === 400) {
            this.opts.deadLetter.write({ file: doc.cursor.file.path, offset: doc.offset, reason: `refused by Elasticsearch: ${reason}`, line: doc.line });
            rejected += 1;
          } else {
            retry.push(doc);
            problem ||= reason;
          }
        },
      });
    } catch (err) {
      return { retry: docs, problem: describe(err) };
    }
    this.indexed += docs.length - retry.length - rejected;
    return { retry, problem };
  }

  /** Exponential with jitter, capped; false when abandoned at shutdown. */
  private async backoff(attempt: number): Promise<boolean> {
    const ceiling = Math.min(this.opts.backoffMaxMs, BACKOFF_BASE_MS * 2 ** Math.min(attempt, 20));
    try {
      await sleep(ceiling / 2 + (Math.random() * ceiling) / 2, undefined, { signal: this.abandon.signal });
      return true;
    } catch {
      return false;
    }
  }

  private unavailable(problem: string): void {
    if (this.downSince !== undefined) return;
    this.downSince = Date.now();
    this.opts.onAvailability(problem, 0);
  }

  private available(): void {
    if (this.downSince === undefined) return;
    const downFor = Date.now() - this.downSince;
    this.downSince = undefined;
    this.opts.onAvailability(undefined, downFor);
  }
}

function emptyBatch(): Batch {
  return { docs: [], bytes: 0, segments: [], openedAt: Date.now() };
}

function describe(err: unknown): string {
  return (err as Error).message.slice(0, 300);
}
