import { mkdirSync } from 'node:fs';
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { z } from 'zod';
import { DATASETS, EventValidationError, logFile, type Dataset } from '@mlmon/contract';
import { LineWriter, type LineFileOptions } from './line-writer.js';
import type { WriterBatch, WriterReply } from './writer-thread.js';

type Level = 'debug' | 'info' | 'warn' | 'error';

/**
 * What a producer supplies: the event minus what the formatter and the log
 * itself add (timestamp, level, ECS version, service, host, process), and with
 * `event` holding only the dataset-specific members (duration, outcome).
 */
export type EventFields<D extends Dataset> = Omit<
  z.input<(typeof DATASETS)[D]['schema']>,
  '@timestamp' | 'log' | 'ecs' | 'message' | 'service' | 'host' | 'process' | 'event'
> & { event?: Record<string, unknown> };

// What the producer hands in, before the formatter adds its fields; compiled by zod
// ahead of time because the api validates one on every prediction.
const payloadSchemas = new Map<Dataset, z.ZodType>();
function payloadSchema(dataset: Dataset): z.ZodType {
  let schema = payloadSchemas.get(dataset);
  if (!schema) {
    const full = DATASETS[dataset].schema as z.ZodObject;
    payloadSchemas.set(dataset, (schema = z.compile(full.omit({ '@timestamp': true, log: true, ecs: true }))));
  }
  return schema;
}

export interface EventLogOptions {
  /** `service.name`, e.g. mlmon-api. */
  service: string;
  /** `service.node.name`: which replica or instance wrote the line. */
  node: string;
  dir: string;
  /** File name without extension: `<basename>.ndjson`, rotated to `<basename>.1.ndjson` and up. */
  basename: string;
  /** Rotate after this many bytes; a line is never split across files. */
  maxBytes: number;
  maxFiles: number;
  stdout?: boolean;
  /**
   * Format and append on a writer thread of its own, for a process whose
   * request path logs: see createEventLog. Otherwise each line is formatted
   * and appended inside write().
   */
  thread?: boolean;
}

export interface EventLog {
  /**
   * Validates the event against its dataset's schema, throwing
   * EventValidationError at once on a bad one, then writes one ECS line. The
   * promise settles when the line is in the file (at once without a writer
   * thread); it rejects only when the file cannot be written.
   */
  write<D extends Dataset>(dataset: D, level: Level, message: string, fields: EventFields<D>): Promise<void>;
  /** Writes every line still on its way, then closes the file. */
  close(): Promise<void>;
  readonly file: string;
}

/**
 * One NDJSON file of ECS lines per process, formatted by
 * @elastic/ecs-winston-format and appended by a winston transport, rotated by
 * size (line-writer.ts).
 *
 * The format and the transport are called directly rather than through a
 * winston Logger: the Logger's stream pipeline buffers, so when write()
 * returned nobody knew whether the line was on disk, and close() had to guess.
 * Here write() says when: without a thread the line is appended before it
 * returns; with one, its promise resolves once the thread has appended it.
 * A replica awaits that before it answers, so an answered prediction is in the
 * file even if the process is killed a moment later.
 *
 * The writer thread exists for the replicas: validation stays in the caller,
 * so a bad event still throws where it is made, but formatting and the append
 * move off the event loop that serves requests, onto the core it leaves idle
 * (bench/api.ts measures what logging costs with it).
 */
export function createEventLog(opts: EventLogOptions): EventLog {
  mkdirSync(opts.dir, { recursive: true });
  const file = logFile(opts.dir, opts.basename);
  const fileOpts: LineFileOptions = { file, maxBytes: opts.maxBytes, maxFiles: opts.maxFiles, stdout: opts.stdout ?? false };
  const append = opts.thread ? writerThread(fileOpts) : inline(fileOpts);
  const defaults = {
    service: { name: opts.service, node: { name: opts.node } },
    host: { hostname: os.hostname() },
    process: { pid: process.pid },
  };
  let closed = false;
  let sequence = 0;
  return {
    file,
    write(dataset, level, message, fields) {
      if (closed) throw new Error(`event log ${file} is closed; ${dataset} line not written: ${message}`);
      // One object, built in the order the line reads; the ECS header is filled in when it is formatted.
      const info: Record<string, unknown> = {
        '@timestamp': '',
        'log.level': level,
        'ecs.version': '',
        ...defaults,
        ...fields,
        message,
        event: { dataset, kind: DATASETS[dataset].kind, sequence: ++sequence, ...fields.event },
        level,
      };
      const result = payloadSchema(dataset).safeParse(info);
      if (!result.success) {
        const issue = result.error.issues[0]!;
        throw new EventValidationError(`${dataset}: ${issue.path.join('.')}: ${issue.message}`, issue.path.join('.'), result.error.issues);
      }
      return append.write(info, Date.now());
    },
    async close() {
      if (closed) return;
      closed = true;
      await append.close();
    },
  };
}

// A worker thread starts outside the loader that runs TypeScript sources in tests, so from
// source it runs the compiled thread (the test command builds first), and it takes none of
// the parent's node flags (a test runner's resolve conditions would point it at sources).
const WRITER_THREAD = new URL(import.meta.url.endsWith('.ts') ? '../dist/writer-thread.js' : './writer-thread.js', import.meta.url);

interface Appender {
  write(info: Record<string, unknown>, at: number): Promise<void>;
  close(): Promise<void>;
}

function inline(opts: LineFileOptions): Appender {
  const writer = new LineWriter(opts);
  const written = Promise.resolve();
  return {
    write(info, at) {
      writer.append(info, at);
      return written;
    },
    async close() {
      writer.close();
    },
  };
}

/**
 * Events go to the thread in one message per turn of the event loop, and it
 * answers once per message, so a busy replica pays for a message per batch of
 * lines, not per line.
 */
function writerThread(opts: LineFileOptions): Appender {
  const worker = new Worker(WRITER_THREAD, { workerData: opts, execArgv: [] });
  let numbered = 0;
  let batch: WriterBatch['events'] = [];
  const waiting: Array<{ n: number; resolve: () => void; reject: (err: Error) => void }> = [];
  let broken: Error | undefined;
  const settle = (last: number, err?: Error) => {
    while (waiting.length > 0 && waiting[0]!.n <= last) {
      const w = waiting.shift()!;
      if (err) w.reject(err);
      else w.resolve();
    }
  };
  let closing = false;
  worker.on('message', (reply: WriterReply) => settle(reply.last, reply.failed === undefined ? undefined : new Error(`${opts.file}: ${reply.failed}`)));
  worker.on('error', (err) => {
    broken = new Error(`${opts.file}: writer thread failed: ${err.message}`);
    settle(Infinity, broken);
  });
  const exited = new Promise<void>((resolve) =>
    worker.once('exit', (code) => {
      if (!closing) {
        broken ??= new Error(`${opts.file}: writer thread exited (code ${code})`);
        settle(Infinity, broken);
      }
      resolve();
    }),
  );
  const send = () => {
    if (batch.length === 0) return;
    worker.postMessage({ last: numbered, events: batch } satisfies WriterBatch);
    batch = [];
  };
  return {
    write(info, at) {
      let line: Promise<void>;
      if (broken) line = Promise.reject(broken);
      else {
        if (batch.length === 0) setImmediate(send);
        batch.push([at, info]);
        const n = ++numbered;
        line = new Promise<void>((resolve, reject) => waiting.push({ n, resolve, reject }));
      }
      // A caller that does not wait for its line must not turn a failed write into an unhandled rejection.
      line.catch(() => {});
      return line;
    },
    async close() {
      closing = true;
      send();
      worker.postMessage('close');
      await exited;
      settle(Infinity, broken ?? new Error(`${opts.file}: writer thread stopped before writing this line`));
    },
  };
}
