import { parentPort, workerData } from 'node:worker_threads';
import { LineWriter, type LineFileOptions } from './line-writer';

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
    // Ends this thread only. Waiting for its event loop to empty could wait forever: the
    // TypeScript loader it was started through may keep a handle open.
    process.exit(0);
  }
  try {
    for (const [at, info] of batch.events) writer.append(info, at);
    port.postMessage({ last: batch.last } satisfies WriterReply);
  } catch (err) {
    port.postMessage({ last: batch.last, failed: (err as Error).message } satisfies WriterReply);
  }
});
