import { mkdirSync } from 'node:fs';
import { z } from 'zod';
import { DATASETS, EventValidationError, logFile, type Dataset } from '@mlmon/contract';
import { ecsEvents, type EventFields, type Level } from './ecs-line.js';
import { RotatingFile } from './rotating-file.js';

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
   * Append the lines written in one microtask checkpoint with one write at its
   * end, for a process whose request path logs: see createEventLog. Otherwise
   * each line is appended inside write().
   */
  batched?: boolean;
}

export interface EventLog {
  /**
   * Validates the event against its dataset's schema, throwing
   * EventValidationError at once on a bad one, then writes one ECS line. The
   * promise settles when the line is in the file (at once when not batched);
   * it rejects only when the file cannot be written.
   */
  write<D extends Dataset>(dataset: D, level: Level, message: string, fields: EventFields<D>): Promise<void>;
  /**
   * write() without the schema check, for a line the caller builds only from
   * parts it has validated already (a replica's prediction lines: checked
   * features, generated ids, the model's finite output). There the check
   * repeated work and cost a replica a tenth of its predictions per second
   * (bench/api.ts). The types still hold the line's shape, and the shipper
   * validates every line again, so a bad one is dead-lettered, never indexed.
   */
  writePrevalidated<D extends Dataset>(dataset: D, level: Level, message: string, fields: EventFields<D>): Promise<void>;
  /** Writes every line still on its way, then closes the file. */
  close(): Promise<void>;
  readonly file: string;
}

/**
 * One NDJSON file of ECS lines per process, formatted by
 * @elastic/ecs-winston-format (ecs-line.ts) and appended with synchronous
 * writes, rotated by size (rotating-file.ts).
 *
 * The format is called directly rather than through a winston Logger: the
 * Logger's stream pipeline buffers, so when write() returned nobody knew
 * whether the line was on disk, and close() had to guess. Here write() says
 * when: inline, the line is appended before it returns; batched, its promise
 * resolves once the batch's write has appended it. A replica awaits that
 * before it answers, so an answered prediction is in the file even if the
 * process is killed a moment later.
 *
 * Batched is for the replicas. A write costs more than formatting a line, and
 * under load one inference run answers several requests, so their lines share
 * one write. An earlier design formatted and appended on a writer thread;
 * handing it each event cost the event loop more (a structured clone and a
 * message each way) than formatting here does, and since an answer waits for
 * its line anyway, the thread bought no responsiveness (bench/api.ts measures
 * what logging costs).
 */
export function createEventLog(opts: EventLogOptions): EventLog {
  mkdirSync(opts.dir, { recursive: true });
  const file = logFile(opts.dir, opts.basename);
  const rotating = new RotatingFile({ file, maxBytes: opts.maxBytes, maxFiles: opts.maxFiles });
  const append = opts.batched ? batched(rotating) : inline(rotating);
  const events = ecsEvents(opts);
  let closed = false;
  const build = <D extends Dataset>(dataset: D, level: Level, message: string, fields: EventFields<D>): Record<string, unknown> => {
    if (closed) throw new Error(`event log ${file} is closed; ${dataset} line not written: ${message}`);
    return events.build(dataset, level, message, fields);
  };
  const emit = (info: Record<string, unknown>): Promise<void> => {
    const line = events.format(info);
    if (opts.stdout) process.stdout.write(`${line}\n`);
    return append.write(line);
  };
  return {
    file,
    write(dataset, level, message, fields) {
      const info = build(dataset, level, message, fields);
      const result = payloadSchema(dataset).safeParse(info);
      if (!result.success) {
        const issue = result.error.issues[0]!;
        throw new EventValidationError(`${dataset}: ${issue.path.join('.')}: ${issue.message}`, issue.path.join('.'), result.error.issues);
      }
      return emit(info);
    },
    writePrevalidated(dataset, level, message, fields) {
      return emit(build(dataset, level, message, fields));
    },
    async close() {
      if (closed) return;
      closed = true;
      await append.close();
    },
  };
}

interface Appender {
  write(line: string): Promise<void>;
  close(): Promise<void>;
}

const written = Promise.resolve();

function inline(file: RotatingFile): Appender {
  return {
    write(line) {
      const { error } = file.append([line]);
      if (error) throw error;
      return written;
    },
    async close() {
      file.close();
    },
  };
}

function batched(file: RotatingFile): Appender {
  let lines: string[] = [];
  let waiting: Array<{ resolve: () => void; reject: (err: Error) => void }> = [];
  const flush = () => {
    if (lines.length === 0) return;
    const result = file.append(lines);
    // The lines before a failure (the disk filled up, a rotation could not reopen) are in the file.
    const failed = result.error && new Error(`${file.name}: ${result.error.message}`);
    waiting.forEach((w, i) => (i < result.written ? w.resolve() : w.reject(failed!)));
    lines = [];
    waiting = [];
  };
  return {
    write(line) {
      // A microtask, not setImmediate: the requests one inference run answers continue in one
      // microtask checkpoint, so their lines still share the write, and no turn of the loop is
      // spent waiting for it (a setImmediate hop cost a replica about a tenth of its throughput).
      if (lines.length === 0) queueMicrotask(flush);
      lines.push(line);
      const done = new Promise<void>((resolve, reject) => waiting.push({ resolve, reject }));
      // A caller that does not wait for its line must not turn a failed write into an unhandled rejection.
      done.catch(() => {});
      return done;
    },
    async close() {
      flush();
      file.close();
    },
  };
}
