import { fstatSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@elastic/elasticsearch';
import { BulkWriter } from './bulk-writer.js';
import { Checkpoints } from './checkpoint.js';
import type { ShipperConfig } from './config.js';
import { Cursor } from './cursor.js';
import { DeadLetterFile } from './dead-letter.js';
import { matchFiles } from './discover.js';
import { routeLine } from './router.js';
import { TailedFile, fingerprint } from './tail.js';

/**
 * Bytes read per file per turn. Also the longest line shipped: a line with no
 * newline within this many bytes is dead-lettered and skipped, so one runaway
 * writer cannot make the shipper buffer without bound.
 */
export const MAX_LINE_BYTES = 1024 * 1024;
/** A file no pattern matches any more (renamed away, deleted) is closed once it has been quiet and shipped for this long. */
const CLOSE_UNMATCHED_AFTER_MS = 10_000;
const NEWLINE = 10;
const CARRIAGE_RETURN = 13;
const DEAD_LETTER_EXCERPT_BYTES = 1024;

export type OperationalLog = (level: 'info' | 'warn', message: string) => void;

export interface ShipperStats {
  lines_read: number;
  indexed: number;
  dead_lettered: number;
  retried: number;
  lag_bytes: number;
  lag_seconds: number;
}

export type ShipperSettings = Pick<
  ShipperConfig,
  | 'MLMON_SHIPPER_GLOBS'
  | 'MLMON_SHIPPER_STATE_DIR'
  | 'MLMON_INDEX_PREFIX'
  | 'MLMON_SHIPPER_FLUSH_BYTES'
  | 'MLMON_SHIPPER_FLUSH_INTERVAL'
  | 'MLMON_SHIPPER_CONCURRENCY'
  | 'MLMON_SHIPPER_POLL_INTERVAL'
  | 'MLMON_SHIPPER_SCAN_INTERVAL'
  | 'MLMON_SHIPPER_CHECKPOINT_INTERVAL'
  | 'MLMON_SHIPPER_BACKOFF_MAX'
>;

/**
 * Follows the files matching the patterns and ships every complete line once
 * Elasticsearch has it, checkpointing only what it acknowledged.
 *
 * One loop reads: scan the patterns now and then, read each file's new bytes,
 * route each complete line, hand it to the writer. Reading waits whenever the
 * writer is full, so while Elasticsearch is down the loop simply stops and
 * memory stays bounded; it goes on by itself once batches are acknowledged.
 */
export class Shipper {
  linesRead = 0;
  readonly deadLetter: DeadLetterFile;
  private readonly writer: BulkWriter;
  private readonly files = new Map<string, TailedFile>();
  /** Cursors of content that was truncated away while some of its lines were still unacknowledged. */
  private readonly detached = new Set<Cursor>();
  private readonly buf = Buffer.allocUnsafe(MAX_LINE_BYTES);
  private readonly napping = new AbortController();
  private stopping = false;
  private loop: Promise<void> | undefined;
  private checkpointTimer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly settings: ShipperSettings,
    private readonly checkpoints: Checkpoints,
    client: Client,
    private readonly log: OperationalLog,
    prepare: (() => Promise<unknown>) | undefined,
  ) {
    this.deadLetter = new DeadLetterFile(path.join(settings.MLMON_SHIPPER_STATE_DIR, 'dead-letter.ndjson'));
    this.writer = new BulkWriter({
      client,
      flushBytes: settings.MLMON_SHIPPER_FLUSH_BYTES,
      flushIntervalMs: settings.MLMON_SHIPPER_FLUSH_INTERVAL,
      concurrency: settings.MLMON_SHIPPER_CONCURRENCY,
      backoffMaxMs: settings.MLMON_SHIPPER_BACKOFF_MAX,
      deadLetter: this.deadLetter,
      ...(prepare ? { prepare } : {}),
      onAcknowledged: (cursor) => checkpoints.advance(cursor.stream, cursor.ackedOffset, cursor.file.path),
      onAvailability: (problem, downForMs) =>
        problem === undefined
          ? log('info', `Elasticsearch accepts again after ${(downForMs / 1000).toFixed(1)} s; catching up`)
          : log(
              'warn',
              `Elasticsearch is not accepting (${problem}); retrying with backoff up to ${settings.MLMON_SHIPPER_BACKOFF_MAX} ms apart, reading pauses once ${(settings.MLMON_SHIPPER_CONCURRENCY + 1) * settings.MLMON_SHIPPER_FLUSH_BYTES} bytes wait`,
            ),
    });
  }

  static async start(opts: {
    settings: ShipperSettings;
    client: Client;
    log: OperationalLog;
    /** Runs before the first bulk request, retried until it succeeds (template setup). */
    prepare?: () => Promise<unknown>;
  }): Promise<Shipper> {
    const checkpoints = await Checkpoints.load(path.join(opts.settings.MLMON_SHIPPER_STATE_DIR, 'checkpoints.json'));
    const shipper = new Shipper(opts.settings, checkpoints, opts.client, opts.log, opts.prepare);
    shipper.loop = shipper.run();
    shipper.checkpointTimer = setInterval(() => void shipper.saveCheckpoints(), opts.settings.MLMON_SHIPPER_CHECKPOINT_INTERVAL);
    return shipper;
  }

  /**
   * Stops reading, waits up to timeoutMs for Elasticsearch to acknowledge what
   * was read, and checkpoints. Returns whether everything read was acknowledged.
   */
  async stop(timeoutMs: number): Promise<boolean> {
    this.stopping = true;
    this.napping.abort();
    this.writer.releaseReaders();
    await this.loop;
    const complete = await this.writer.close(timeoutMs);
    clearInterval(this.checkpointTimer);
    await this.checkpoints.save(this.activeStreams());
    for (const file of this.files.values()) await file.handle.close();
    this.deadLetter.close();
    return complete;
  }

  stats(): ShipperStats {
    const now = Date.now();
    let bytes = 0;
    let oldest = now;
    const count = (cursor: Cursor | undefined, unacked: number) => {
      bytes += Math.max(0, unacked);
      oldest = Math.min(oldest, cursor?.oldestPending ?? now);
    };
    // Sizes are taken now: while reading waits for Elasticsearch, the sizes the reader last saw stand still.
    for (const file of this.files.values()) count(file.cursor, currentSize(file) - (file.cursor?.ackedOffset ?? 0));
    for (const cursor of this.detached) count(cursor, cursor.readOffset - cursor.ackedOffset);
    return {
      lines_read: this.linesRead,
      indexed: this.writer.indexed,
      dead_lettered: this.deadLetter.count,
      retried: this.writer.retried,
      lag_bytes: bytes,
      lag_seconds: Math.max(0, now - oldest) / 1000,
    };
  }

  private async run(): Promise<void> {
    let nextScan = 0;
    while (!this.stopping) {
      if (Date.now() >= nextScan) {
        await this.scan().catch((err: Error) => this.log('warn', `scanning ${this.settings.MLMON_SHIPPER_GLOBS.join(',')} failed: ${err.message}`));
        nextScan = Date.now() + this.settings.MLMON_SHIPPER_SCAN_INTERVAL;
      }
      let progressed = false;
      for (const file of this.files.values()) {
        if (this.stopping) break;
        try {
          if ((await this.pump(file)) > 0) progressed = true;
        } catch (err) {
          this.log('warn', `reading ${file.path} failed: ${(err as Error).message}`);
        }
      }
      await this.closeUnmatched();
      if (!progressed && !this.stopping) await sleep(this.settings.MLMON_SHIPPER_POLL_INTERVAL, undefined, { signal: this.napping.signal }).catch(() => {});
    }
  }

  /** Finds new files and follows renamed ones: a file is the same file as long as its device and inode are. */
  private async scan(): Promise<void> {
    const found = new Set<string>();
    for (const file of await matchFiles(this.settings.MLMON_SHIPPER_GLOBS, new Set([this.deadLetter.file]))) {
      const info = await stat(file).catch(() => undefined);
      if (!info?.isFile()) continue;
      const key = `${info.dev}:${info.ino}`;
      const known = this.files.get(key);
      if (known) {
        known.path = file;
        found.add(key);
        continue;
      }
      const opened = await TailedFile.open(file);
      if (!opened) continue;
      found.add(opened.key);
      if (this.files.has(opened.key)) await opened.handle.close();
      else this.files.set(opened.key, opened);
    }
    for (const file of this.files.values()) file.matched = found.has(file.key);
  }

  /** Reads and hands on the complete lines past the file's cursor; returns the bytes consumed. */
  private async pump(file: TailedFile): Promise<number> {
    const { size } = await file.handle.stat();
    if (size !== file.size) {
      file.size = size;
      file.changedAt = Date.now();
    }
    let cursor = file.cursor;
    // Shrunk below what we read: truncated, unless this is a shorter copy of a stream read further elsewhere.
    if (cursor && size < cursor.readOffset && !(await file.startsWith(cursor.firstLine))) cursor = this.detach(file);
    cursor ??= await this.attach(file);
    file.exhausted = !cursor || cursor.readOffset >= size;
    if (!cursor || file.exhausted) return 0;
    const start = cursor.readOffset;
    const { bytesRead } = await file.handle.read(this.buf, 0, Math.min(MAX_LINE_BYTES, size - start), start);
    // Checked after reading: a truncation that raced the read (and was refilled past our offset) shows
    // as a changed first line, and what was read belongs to the old content, so it is not used.
    if (!(await file.startsWith(cursor.firstLine))) {
      this.detach(file);
      return bytesRead;
    }
    const consumed = await this.consume(file, cursor, bytesRead);
    // consume() stops only at the last newline (or when stopping): what follows it is a partial line.
    file.exhausted = start + bytesRead === size;
    return consumed;
  }

  /** Starts following the file's content from its checkpoint, once it has a complete first line. */
  private async attach(file: TailedFile): Promise<Cursor | undefined> {
    const firstLine = await file.firstLine();
    if (!firstLine) return undefined;
    const stream = fingerprint(firstLine);
    file.cursor = new Cursor(stream, firstLine, this.checkpoints.offset(stream) ?? 0, file);
    return file.cursor;
  }

  private detach(file: TailedFile): undefined {
    const cursor = file.cursor!;
    if (cursor.hasPending) this.detached.add(cursor);
    file.cursor = undefined;
    this.log('info', `${file.path} was truncated (copytruncate?) after ${cursor.readOffset} bytes; reading its new content from the start`);
    return undefined;
  }

  private async consume(file: TailedFile, cursor: Cursor, length: number): Promise<number> {
    const data = this.buf.subarray(0, length);
    const base = cursor.readOffset;
    let pos = 0;
    if (cursor.skipping) {
      const newline = data.indexOf(NEWLINE);
      pos = newline < 0 ? length : newline + 1;
      cursor.skipping = newline < 0;
      cursor.readOffset = base + pos;
      this.writer.add(cursor, cursor.readOffset, Date.now());
    }
    for (let newline = data.indexOf(NEWLINE, pos); newline >= 0 && !this.stopping; newline = data.indexOf(NEWLINE, pos)) {
      while (this.writer.full && !this.stopping) await this.writer.room();
      if (this.stopping) break;
      const offset = base + pos;
      const end = base + newline + 1;
      const text = this.buf.toString('utf8', pos, newline > pos && data[newline - 1] === CARRIAGE_RETURN ? newline - 1 : newline);
      pos = newline + 1;
      cursor.readOffset = end;
      // Blank lines carry no event; their bytes are passed over like any other.
      if (text.trim() === '') {
        this.writer.add(cursor, end, Date.now());
        continue;
      }
      this.linesRead += 1;
      const route = routeLine(text, { prefix: this.settings.MLMON_INDEX_PREFIX, stream: cursor.stream, offset });
      if (route.ok) {
        this.writer.add(cursor, end, route.timestamp, { index: route.index, id: route.id, line: text, cursor, offset });
      } else {
        this.deadLetter.write({ file: file.path, offset, reason: route.reason, line: text });
        this.writer.add(cursor, end, Date.now());
      }
    }
    if (pos === 0 && length === MAX_LINE_BYTES && !cursor.skipping && data.indexOf(NEWLINE) < 0) {
      this.linesRead += 1;
      this.deadLetter.write({
        file: file.path,
        offset: base,
        reason: `line longer than ${MAX_LINE_BYTES} bytes; skipped up to its newline (line holds its first ${DEAD_LETTER_EXCERPT_BYTES} bytes)`,
        line: this.buf.toString('utf8', 0, DEAD_LETTER_EXCERPT_BYTES),
      });
      cursor.skipping = true;
      pos = length;
      cursor.readOffset = base + pos;
      this.writer.add(cursor, cursor.readOffset, Date.now());
    }
    return pos;
  }

  /** Closes files that are gone from the patterns, once quiet and fully shipped (their data stays readable while open). */
  private async closeUnmatched(): Promise<void> {
    const now = Date.now();
    for (const [key, file] of this.files) {
      if (file.matched || !file.exhausted || file.cursor?.hasPending || now - file.changedAt < CLOSE_UNMATCHED_AFTER_MS) continue;
      this.files.delete(key);
      await file.handle.close();
    }
    for (const cursor of this.detached) if (!cursor.hasPending) this.detached.delete(cursor);
  }

  private activeStreams(): Set<string> {
    const streams = new Set<string>();
    for (const file of this.files.values()) if (file.cursor) streams.add(file.cursor.stream);
    for (const cursor of this.detached) streams.add(cursor.stream);
    return streams;
  }

  private async saveCheckpoints(): Promise<void> {
    try {
      await this.checkpoints.save(this.activeStreams());
    } catch (err) {
      this.log('warn', `writing checkpoints to ${this.checkpoints.file} failed: ${(err as Error).message}`);
    }
  }
}

function currentSize(file: TailedFile): number {
  try {
    return fstatSync(file.handle.fd).size;
  } catch {
    return file.size;
  }
}
