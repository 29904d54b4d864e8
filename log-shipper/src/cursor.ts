/**
 * A run of consecutive lines of one cursor that went into one batch: they are
 * acknowledged together when the batch is.
 */
export interface Segment {
  readonly cursor: Cursor;
  /** Offset just past the last line of the run. */
  end: number;
  done: boolean;
  /** Epoch ms of the run's first line (its @timestamp, or when it was read): the age behind lag_seconds. */
  readonly oldest: number;
}

/**
 * Where reading and acknowledgement stand in one stream (one file content,
 * named by its fingerprint) as seen through one open file.
 *
 * Batches are acknowledged out of order (several bulk requests are in flight),
 * so the acknowledged offset only moves over a prefix of segments that are all
 * done: a checkpoint never skips a line that Elasticsearch has not confirmed.
 */
export class Cursor {
  readOffset: number;
  ackedOffset: number;
  /** Inside a line too long to ship, whose remaining bytes are being skipped up to its newline. */
  skipping = false;
  private readonly pending: Segment[] = [];
  private head = 0;

  constructor(
    readonly stream: string,
    /** The bytes the fingerprint was taken from, compared again after every read to catch truncation. */
    readonly firstLine: Buffer,
    start: number,
    readonly file: { readonly path: string },
  ) {
    this.readOffset = start;
    this.ackedOffset = start;
  }

  openSegment(end: number, oldest: number): Segment {
    const segment: Segment = { cursor: this, end, done: false, oldest };
    this.pending.push(segment);
    return segment;
  }

  /** Moves the acknowledged offset over the segments done so far, in order; true when it moved. */
  settle(): boolean {
    const before = this.ackedOffset;
    while (this.head < this.pending.length && this.pending[this.head]!.done) {
      this.ackedOffset = this.pending[this.head]!.end;
      this.head += 1;
    }
    // Compacting now and then keeps settle() O(1) amortized without an unbounded array.
    if (this.head > 1024 && this.head * 2 > this.pending.length) {
      this.pending.splice(0, this.head);
      this.head = 0;
    }
    return this.ackedOffset !== before;
  }

  /** Epoch ms of the oldest line read but not yet acknowledged. */
  get oldestPending(): number | undefined {
    return this.pending[this.head]?.oldest;
  }

  get hasPending(): boolean {
    return this.head < this.pending.length;
  }
}
