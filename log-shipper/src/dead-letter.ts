import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import path from 'node:path';

export interface DeadLetterEntry {
  /** The file the line was read from, under the name it had then. */
  file: string;
  /** Byte offset of the line's first byte in that file's content. */
  offset: number;
  reason: string;
  line: string;
}

/**
 * Lines that cannot be indexed, appended one JSON object per line with the
 * reason. Written synchronously, before the line's offset can be checkpointed,
 * so a line is either indexed, or here, or read again after a restart.
 */
export class DeadLetterFile {
  private fd: number;
  count = 0;

  constructor(readonly file: string) {
    mkdirSync(path.dirname(file), { recursive: true });
    this.fd = openSync(file, 'a');
  }

  write(entry: DeadLetterEntry): void {
    // A bulk response that arrives after shutdown gave up on it must not write into a reused descriptor.
    if (this.fd < 0) throw new Error(`dead-letter file ${this.file} is closed`);
    const line = Buffer.from(`${JSON.stringify({ '@timestamp': new Date().toISOString(), ...entry })}\n`);
    let written = 0;
    while (written < line.length) written += writeSync(this.fd, line, written);
    this.count += 1;
  }

  close(): void {
    if (this.fd < 0) return;
    closeSync(this.fd);
    this.fd = -1;
  }
}
