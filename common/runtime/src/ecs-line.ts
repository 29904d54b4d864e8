import os from 'node:os';
import { ecsFields } from '@elastic/ecs-winston-format';
import type { z } from 'zod';
import { DATASETS, type Dataset } from '@mlmon/contract';

export type Level = 'debug' | 'info' | 'warn' | 'error';

/**
 * What a producer supplies: the event minus what the formatter and the log
 * itself add (timestamp, level, ECS version, service, host, process), and with
 * `event` holding only the dataset-specific members (duration, outcome).
 */
export type EventFields<D extends Dataset> = Omit<
  z.input<(typeof DATASETS)[D]['schema']>,
  '@timestamp' | 'log' | 'ecs' | 'message' | 'service' | 'host' | 'process' | 'event'
> & { event?: Record<string, unknown> };

/**
 * Turns a validated event into its ECS line, in the caller's thread.
 *
 * Of @elastic/ecs-winston-format we use `ecsFields` (the ECS header, errors,
 * APM ids) and serialize with JSON.stringify instead of its `ecsStringify`,
 * which runs safe-stable-stringify: its key sorting and cycle checks cost a
 * replica about 5% of its predictions per second under load (4 side-by-side
 * runs) and buy nothing here, because the line has just passed its zod
 * schema: plain JSON data, no cycles, no BigInt.
 */
export function ecsLineFormatter(): (info: Record<string, unknown>) => string {
  const ecs = ecsFields({ convertReqRes: false });
  return (info) => {
    ecs.transform(info as Parameters<typeof ecs.transform>[0], ecs.options);
    // `level` is winston's and the line has it as log.level: undefined drops it from the JSON without copying the object.
    info.level = undefined;
    return JSON.stringify(info);
  };
}

export interface EcsEvents {
  /** The event as one object, in the order its line reads; the ECS header is filled in when it is formatted. */
  build<D extends Dataset>(dataset: D, level: Level, message: string, fields: EventFields<D>): Record<string, unknown>;
  format(info: Record<string, unknown>): string;
}

/**
 * The events of one service instance: what the caller gives, with the header
 * every line carries (service, host, process, dataset, kind, a sequence number
 * per instance). The event log appends them to its file for the shipper; a
 * service that indexes what it produces itself (the analyzer) sends the same
 * line, so a document is the same whichever way it reached Elasticsearch.
 */
export function ecsEvents(opts: { service: string; node: string }): EcsEvents {
  const defaults = {
    service: { name: opts.service, node: { name: opts.node } },
    host: { hostname: os.hostname() },
    process: { pid: process.pid },
  };
  let sequence = 0;
  return {
    build: (dataset, level, message, fields) => ({
      '@timestamp': '',
      'log.level': level,
      'ecs.version': '',
      ...defaults,
      ...fields,
      message,
      event: { dataset, kind: DATASETS[dataset].kind, sequence: ++sequence, ...fields.event },
      level,
    }),
    format: ecsLineFormatter(),
  };
}
