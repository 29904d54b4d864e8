import { closeSync, existsSync, fstatSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { rotatedLogFile } from '@mlmon/contract';

/** How far a call to RotatingFile.append got: the first `written` lines are in the file; `error` stopped the rest. */
export interface AppendResult {
  written: number;
  error?: Error;
}

/**
 * Appends lines to a file with synchronous writes and rotates it by size, by
 * rename.
 *
 * Hand-written because winston's own File transport, with size rotation, hung
 * on end() and wrote after end when a rotation overlapped shutdown (seen in
 * api/test/log-files.int.test.ts). A synchronous append also gives the guarantee
 * the monitoring depends on: a prediction's line is in the kernel before its
 * response is sent, so not even kill -9 loses an answered prediction.
 *
 * The lines of one call go out in one write (one per file when a rotation
 * falls among them): a write costs a replica more than formatting a line does.
 *
 * `x.ndjson` is the current file; rotation renames it to `x.1.ndjson`, shifting
 * older ones up to `x.<maxFiles-1>.ndjson`. A line is never split across files.
 */
export class RotatingFile {
  /** -1 after a rotation that could not open the new file: the next append tries again. */
  private fd = -1;
  private size = 0;
  private ended = false;

  constructor(private readonly opts: { file: string; maxBytes: number; maxFiles: number }) {
    this.open();
  }

  get name(): string {
    return this.opts.file;
  }

  /** Each line without its newline. */
  append(lines: readonly string[]): AppendResult {
    if (this.ended) return { written: 0, error: new Error(`${this.opts.file} is closed`) };
    let written = 0;
    try {
      // The usual case, one write and no rotation, without measuring each line.
      const all = `${lines.join('\n')}\n`;
      const allBytes = Buffer.byteLength(all);
      if (this.fd >= 0 && this.size + allBytes <= this.opts.maxBytes) {
        this.writeAll(all, allBytes);
        this.size += allBytes;
        return { written: lines.length };
      }
      while (written < lines.length) {
        if (this.fd < 0) this.open();
        // The lines that fit before the next rotation; a file holds at least one line.
        let end = written;
        let bytes = 0;
        while (end < lines.length) {
          const next = Buffer.byteLength(lines[end]!) + 1;
          if (this.size + bytes + next > this.opts.maxBytes && (this.size > 0 || end > written)) break;
          bytes += next;
          end++;
        }
        if (end === written) {
          this.rotate();
          continue;
        }
        this.writeAll(`${lines.slice(written, end).join('\n')}\n`, bytes);
        this.size += bytes;
        written = end;
      }
      return { written };
    } catch (err) {
      return { written, error: err as Error };
    }
  }

  /** Idempotent. */
  close(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  // A string write skips a Buffer per call; a short write (a full disk) finishes from a Buffer.
  private writeAll(text: string, bytes: number): void {
    const first = writeSync(this.fd, text);
    if (first === bytes) return;
    const rest = Buffer.from(text);
    for (let at = first; at < bytes; ) at += writeSync(this.fd, rest, at);
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
