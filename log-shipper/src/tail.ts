import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import type { Cursor } from './cursor.js';

/** A first line longer than this is fingerprinted by its first FINGERPRINT_MAX_BYTES bytes. */
const FINGERPRINT_MAX_BYTES = 4096;

/**
 * One open log file. It is known by device and inode, so that when it is
 * renamed by rotation the shipper keeps reading the same open file under its
 * new name, and after it is deleted it can still finish it.
 */
export class TailedFile {
  /** Undefined until the file has a complete first line to fingerprint, and again after a truncation. */
  cursor: Cursor | undefined;
  size = 0;
  /** Whether the last scan found it under one of the patterns. */
  matched = true;
  changedAt = Date.now();
  /** Nothing complete is left to read: the last read reached the end with at most a partial line. */
  exhausted = false;

  private constructor(
    readonly handle: FileHandle,
    /** `<dev>:<ino>` */
    readonly key: string,
    public path: string,
  ) {}

  /** Opens a file found by a scan; undefined when it vanished or is not a regular file. */
  static async open(file: string): Promise<TailedFile | undefined> {
    let handle: FileHandle;
    try {
      handle = await open(file, 'r');
    } catch (err) {
      if (['ENOENT', 'EISDIR'].includes((err as NodeJS.ErrnoException).code ?? '')) return undefined;
      throw err;
    }
    // Identity from the descriptor, not the earlier stat of the path: the path may have been replaced in between.
    const stat = await handle.stat();
    if (!stat.isFile()) {
      await handle.close();
      return undefined;
    }
    return new TailedFile(handle, `${stat.dev}:${stat.ino}`, file);
  }

  /**
   * The bytes that name the file's content: its first line, newline included.
   * Undefined while that line is still being written, so a fingerprint never
   * changes once taken.
   */
  async firstLine(): Promise<Buffer | undefined> {
    const length = Math.min(this.size, FINGERPRINT_MAX_BYTES);
    if (length === 0) return undefined;
    const buf = Buffer.alloc(length);
    const { bytesRead } = await this.handle.read(buf, 0, length, 0);
    const newline = buf.subarray(0, bytesRead).indexOf(10);
    if (newline >= 0) return buf.subarray(0, newline + 1);
    return bytesRead === FINGERPRINT_MAX_BYTES ? buf : undefined;
  }

  /** Whether the file still starts with these bytes; false after a truncation, even one the writer has since refilled. */
  async startsWith(firstLine: Buffer): Promise<boolean> {
    const buf = Buffer.alloc(firstLine.length);
    const { bytesRead } = await this.handle.read(buf, 0, buf.length, 0);
    return bytesRead === buf.length && buf.equals(firstLine);
  }
}

/** 96 bits of SHA-256: no collision among any realistic number of log files, and short enough for every `_id`. */
export function fingerprint(firstLine: Buffer): string {
  return createHash('sha256').update(firstLine).digest('base64url').slice(0, 16);
}
