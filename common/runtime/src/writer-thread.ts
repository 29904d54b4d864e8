import { parentPort, workerData } from 'node:worker_threads';
import { LineWriter, type LineFileOptions } from './line-writer.js';

/** What the event log posts: events with the time each was written, numbered from 1 in order. */
export interface WriterBatch {
  last: number;
  events: Array<[at: number, info: Record<string, unknown>]>;
}

/** What the thread answers for each batch: its events are in the file, or why they are not. */
export interface WriterReply {
  last: number;
  failed?: string;
}

const port = parentPort!;
const writer = new LineWriter(workerData as LineFileOptions);
port.on('message', (batch: WriterBatch | 'close') => {
  if (batch === 'close') {
    writer.close();
    port.close();
    return;
  }
  // Each line is tried on its own, so one that fails (the disk filled up) fails alone and those
  // around it that made it into the file are reported written.
  let n = batch.last - batch.events.length;
  let reported = n;
  for (const [at, info] of batch.events) {
    n += 1;
    try {
      writer.append(info, at);
    } catch (err) {
      if (n - 1 > reported) port.postMessage({ last: n - 1 } satisfies WriterReply);
      port.postMessage({ last: n, failed: (err as Error).message } satisfies WriterReply);
      reported = n;
    }
  }
  if (batch.last > reported) port.postMessage({ last: batch.last } satisfies WriterReply);
});
