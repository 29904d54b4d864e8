import { mkdir, readFile } from 'node:fs/promises';
import { writeFileAtomic } from '@mlmon/runtime';
import path from 'node:path';
import { z } from 'zod';

const entrySchema = z.object({
  /** Every line before this offset was acknowledged by Elasticsearch (or dead-lettered). */
  offset: z.number().int().nonnegative(),
  /** Where the stream was last seen; for people reading the file, not used to match. */
  path: z.string(),
  updated: z.string(),
});
const fileSchema = z.object({ version: z.literal(1), streams: z.record(z.string(), entrySchema) });

export type CheckpointEntry = z.infer<typeof entrySchema>;

/**
 * A stream nobody has seen for this long is forgotten. Long enough for a
 * copytruncate copy or a restart to find its offset, short enough that
 * deleted files do not accumulate.
 */
const FORGET_AFTER_MS = 24 * 3600_000;

/**
 * Offsets per stream, keyed by the stream's fingerprint (a hash of its first
 * line) rather than by device and inode: after a rename, a restart, or a
 * copytruncate copy the same content is found by its fingerprint, while a new
 * file that happens to reuse a freed inode is not mistaken for the old one.
 */
export class Checkpoints {
  private dirty = false;
  private saving: Promise<void> = Promise.resolve();

  private constructor(
    readonly file: string,
    private readonly streams: Map<string, CheckpointEntry>,
  ) {}

  static async load(file: string): Promise<Checkpoints> {
    await mkdir(path.dirname(file), { recursive: true });
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Checkpoints(file, new Map());
      throw err;
    }
    // Written by rename, so the file is whole or absent; anything else is an operator's edit and must stop us, not reset us.
    let parsed;
    try {
      parsed = fileSchema.safeParse(JSON.parse(text));
    } catch (err) {
      throw new Error(`checkpoint file ${file} is not valid: ${(err as Error).message}`);
    }
    if (!parsed.success) throw new Error(`checkpoint file ${file} is not valid: ${parsed.error.issues[0]?.message}`);
    return new Checkpoints(file, new Map(Object.entries(parsed.data.streams)));
  }

  offset(stream: string): number | undefined {
    return this.streams.get(stream)?.offset;
  }

  /** Two open files can carry one stream (a copy and its original): the furthest acknowledged offset wins. */
  advance(stream: string, offset: number, file: string): void {
    const current = this.streams.get(stream);
    if (current && current.offset >= offset) return;
    this.streams.set(stream, { offset, path: file, updated: new Date().toISOString() });
    this.dirty = true;
  }

  /**
   * Writes a temporary file, syncs it and renames it over the old one: a crash
   * leaves either the previous checkpoint or the new one, never a torn file.
   * Saves are serialized so an older state never overwrites a newer one.
   */
  save(active: ReadonlySet<string>): Promise<void> {
    // A failed save (disk full) must not block the ones after it.
    this.saving = this.saving.catch(() => {}).then(async () => {
      const now = Date.now();
      for (const [stream, entry] of this.streams) {
        if (!active.has(stream) && now - Date.parse(entry.updated) > FORGET_AFTER_MS) {
          this.streams.delete(stream);
          this.dirty = true;
        }
      }
      if (!this.dirty) return;
      this.dirty = false;
      const body = JSON.stringify({ version: 1, streams: Object.fromEntries(this.streams) }, null, 2);
      try {
        await writeFileAtomic(this.file, body);
      } catch (err) {
        this.dirty = true;
        throw err;
      }
    });
    return this.saving;
  }
}
