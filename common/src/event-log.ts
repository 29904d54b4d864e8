import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import winston from 'winston';
import { ecsFormat } from '@elastic/ecs-winston-format';
import type { z } from 'zod';
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

const payloadSchemas = new Map<Dataset, z.ZodTypeAny>();
function payloadSchema(dataset: Dataset): z.ZodTypeAny {
  let schema = payloadSchemas.get(dataset);
  if (!schema) {
    schema = (DATASETS[dataset].schema as unknown as z.AnyZodObject).omit({ '@timestamp': true, log: true, ecs: true });
    payloadSchemas.set(dataset, schema);
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

/**
 * One NDJSON file of ECS lines per process, through winston and
 * @elastic/ecs-winston-format, rotated by size.
 */
export function createEventLog(opts: EventLogOptions): EventLog {
  mkdirSync(opts.dir, { recursive: true });
  const file = path.join(opts.dir, `${opts.basename}.ndjson`);
  // Lines handed to winston but not yet written by the transport; close() waits for zero.
  let pending = 0;
  const fileTransport = new RotatingFileTransport({
    file,
    maxBytes: opts.maxBytes,
    maxFiles: opts.maxFiles,
    onWritten: () => (pending -= 1),
  });
  const defaults = {
    service: { name: opts.service, node: { name: opts.node } },
    host: { hostname: os.hostname() },
    process: { pid: process.pid },
  };
  const logger = winston.createLogger({
    level: 'debug',
    format: ecsFormat({ convertReqRes: false }),
    defaultMeta: defaults,
    transports: [fileTransport, ...(opts.stdout ? [new winston.transports.Console()] : [])],
  });
  let closed = false;
  return {
    file,
    write(dataset, level, message, fields) {
      if (closed) throw new Error(`event log ${file} is closed; ${dataset} line not written: ${message}`);
      const meta = { ...defaults, ...fields, event: { dataset, kind: DATASETS[dataset].kind, ...fields.event } };
      // winston appends a `message` found in meta to the message argument, so it is validated but not passed.
      const result = payloadSchema(dataset).safeParse({ ...meta, message });
      if (!result.success) {
        const issue = result.error.issues[0]!;
        throw new EventValidationError(`${dataset}: ${issue.path.join('.')}: ${issue.message}`, issue.path.join('.'), result.error.issues);
      }
      pending += 1;
      logger.log(level, message, meta);
    },
    async close() {
      if (closed) return;
      closed = true;
      // winston's stream events say when its buffers are empty, not when the transport wrote,
      // so count instead. Each line is one synchronous write: zero pending means all on disk.
      const deadline = Date.now() + 10_000;
      while (pending > 0 && Date.now() < deadline) await new Promise((r) => setImmediate(r));
      fileTransport.close();
      logger.close();
      if (pending > 0) throw new Error(`event log ${file}: ${pending} lines were not written before close`);
    },
  };
}
