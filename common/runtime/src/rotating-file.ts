import { closeSync, existsSync, fstatSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import Transport from 'winston-transport';
import { rotatedLogFile } from '@mlmon/contract';

const MESSAGE = Symbol.for('message');

/**
 * A winston transport that appends each formatted line to a file with one
 * synchronous write and rotates by size, by rename.
 *
 * Hand-written because winston's own File transport, with size rotation, hung
 * on end() and wrote after end when a rotation overlapped shutdown (seen in
 * api/test/log-files.test.ts). A synchronous append also gives the guarantee
 * the monitoring depends on: a prediction's line is in the kernel before its
 * response is sent, so not even kill -9 loses an answered prediction.
 *
 * `x.ndjson` is the current file; rotation renames it to `x.1.ndjson`, shifting
 * older ones up to `x.<maxFiles-1>.ndjson`. A line is never split across files.
 */
export class RotatingFileTransport extends Transport {
  /** -1 after a rotation that could not open the new file: the next line tries again. */
  private fd: number;
  private size: number;
  private ended = false;

  constructor(private readonly opts: { file: string; maxBytes: number; maxFiles: number }) {
    super();
    this.fd = -1;
    this.size = 0;
    this.open();
  }

  override log(info: Record<string | symbol, unknown>, callback: () => void): void {
    const line = `${String(info[MESSAGE])}\n`;
    const bytes = Buffer.byteLength(line);
    if (this.ended) throw new Error(`${this.opts.file} is closed`);
    if (this.fd < 0) this.open();
    if (this.size > 0 && this.size + bytes > this.opts.maxBytes) this.rotate();
    // A string write skips a Buffer per line; a short write (a full disk) finishes from a Buffer.
    const written = writeSync(this.fd, line);
    if (written < bytes) {
      const rest = Buffer.from(line);
      for (let at = written; at < bytes; ) at += writeSync(this.fd, rest, at);
    }
    this.size += bytes;
    callback();
  }

  /** Idempotent, as winston expects of a transport. */
  override close(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  private open(): void {
    this.fd = openSync(this.opts.file, 'a');
    this.size = fstatSync(this.fd).size;
  }

  private rotated(n: number): string {
    return rotatedLogFile(this.opts.file, n);
  }

  private rotate(): void {
    closeSync(this.fd);
    // Never left holding a closed descriptor: its number may already belong to another file.
    this.fd = -1;
    const keep = this.opts.maxFiles - 1;
    if (keep < 1) rmSync(this.opts.file, { force: true });
    else {
      rmSync(this.rotated(keep), { force: true });
      for (let n = keep - 1; n >= 1; n--) if (existsSync(this.rotated(n))) renameSync(this.rotated(n), this.rotated(n + 1));
      renameSync(this.opts.file, this.rotated(1));
    }
    this.open();
  }
}
