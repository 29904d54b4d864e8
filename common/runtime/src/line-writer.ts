import { ecsFields } from '@elastic/ecs-winston-format';
import { RotatingFileTransport } from './rotating-file.js';

const MESSAGE = Symbol.for('message');

export interface LineFileOptions {
  file: string;
  /** Rotate after this many bytes; a line is never split across files. */
  maxBytes: number;
  maxFiles: number;
  stdout?: boolean;
}

/**
 * Turns a validated event into its ECS line and appends it: the step an event
 * log runs either in the caller's thread or on its writer thread.
 *
 * Of @elastic/ecs-winston-format we use `ecsFields` (the ECS header, errors,
 * APM ids) and serialize with JSON.stringify instead of its `ecsStringify`,
 * which runs safe-stable-stringify: its key sorting and cycle checks cost a
 * replica about 5% of its predictions per second under load (4 side-by-side
 * runs) and buy nothing here, because the line has just passed its zod
 * schema: plain JSON data, no cycles, no BigInt.
 */
export class LineWriter {
  private readonly ecs = ecsFields({ convertReqRes: false });
  private readonly transport: RotatingFileTransport;

  constructor(private readonly opts: LineFileOptions) {
    this.transport = new RotatingFileTransport(opts);
  }

  /** `info` is built in reading order with '@timestamp', 'log.level' and 'ecs.version' first, and is formatted in place. */
  append(info: Record<string | symbol, unknown>, at: number): void {
    this.ecs.transform(info as Parameters<typeof this.ecs.transform>[0], this.ecs.options);
    // ecsFields stamps the time it runs; on the writer thread that is later than the event.
    info['@timestamp'] = new Date(at).toISOString();
    // `level` is winston's and the line has it as log.level: undefined drops it from the JSON without copying the object.
    info.level = undefined;
    info[MESSAGE] = JSON.stringify(info);
    this.transport.log(info, noop);
    if (this.opts.stdout) process.stdout.write(`${String(info[MESSAGE])}\n`);
  }

  close(): void {
    this.transport.close();
  }
}

const noop = () => {};
