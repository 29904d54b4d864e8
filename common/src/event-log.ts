import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ecsFields } from '@elastic/ecs-winston-format';
import { z } from 'zod';
import { DATASETS, type Dataset } from './events';
import { RotatingFileTransport } from './rotating-file';
import { EventValidationError } from './validate';

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
}

export interface EventLog {
  /** Validates the event against its dataset's schema, then writes one ECS line. Throws EventValidationError on a bad event. */
  write<D extends Dataset>(dataset: D, level: Level, message: string, fields: EventFields<D>): void;
  /** Flushes every line to disk and closes the files. */
  close(): Promise<void>;
  readonly file: string;
}

const LEVEL = Symbol.for('level');
const MESSAGE = Symbol.for('message');

/**
 * One NDJSON file of ECS lines per process, formatted by
 * @elastic/ecs-winston-format and written by a winston transport, rotated by size.
 *
 * Of that library we use `ecsFields` (the ECS fields, errors, APM ids) and
 * serialize with JSON.stringify instead of its `ecsStringify`, which runs
 * safe-stable-stringify: its key sorting and cycle checks cost a replica about
 * 5% of its predictions per second under load (4 side-by-side runs) and buy
 * nothing here, because the line has just passed its zod schema: plain JSON
 * data, no cycles, no BigInt.
 *
 * The format and the transport are called directly rather than through a
 * winston Logger: the Logger's stream pipeline (a Transform piped into each
 * transport) buffers, so when write() returned nobody knew whether the line
 * was on disk, and close() had to guess. Called directly, each line is
 * formatted and written synchronously inside write(): when a prediction is
 * answered its line is already in the file.
 */
export function createEventLog(opts: EventLogOptions): EventLog {
  mkdirSync(opts.dir, { recursive: true });
  const file = path.join(opts.dir, `${opts.basename}.ndjson`);
  const transport = new RotatingFileTransport({ file, maxBytes: opts.maxBytes, maxFiles: opts.maxFiles });
  const ecs = ecsFields({ convertReqRes: false });
  const defaults = {
    service: { name: opts.service, node: { name: opts.node } },
    host: { hostname: os.hostname() },
    process: { pid: process.pid },
  };
  const done = () => {};
  let closed = false;
  return {
    file,
    write(dataset, level, message, fields) {
      if (closed) throw new Error(`event log ${file} is closed; ${dataset} line not written: ${message}`);
      // One object, built in the order the line reads: ecsFields fills in the ECS header in place.
      const info: Record<string | symbol, unknown> = {
        '@timestamp': '',
        'log.level': level,
        'ecs.version': '',
        ...defaults,
        ...fields,
        message,
        event: { dataset, kind: DATASETS[dataset].kind, ...fields.event },
        level,
        [LEVEL]: level,
      };
      const result = payloadSchema(dataset).safeParse(info);
      if (!result.success) {
        const issue = result.error.issues[0]!;
        throw new EventValidationError(`${dataset}: ${issue.path.join('.')}: ${issue.message}`, issue.path.join('.'), result.error.issues);
      }
      ecs.transform(info as Parameters<typeof ecs.transform>[0], ecs.options);
      // `level` is winston's and the line has it as log.level: undefined drops it from the JSON without copying the object.
      info.level = undefined;
      info[MESSAGE] = JSON.stringify(info);
      transport.log(info, done);
      if (opts.stdout) process.stdout.write(`${String(info[MESSAGE])}\n`);
    },
    async close() {
      if (closed) return;
      closed = true;
      transport.close();
    },
  };
}
