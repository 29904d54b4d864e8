import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';

/**
 * Writes a temporary file beside the target, syncs it and renames it over the
 * target: a reader (another replica, the next start after a crash) sees the
 * old content or the new, never a torn file. The temporary name carries the
 * pid and a random part, so that neither two processes nor two overlapping
 * writes in one process share a temporary; the last rename wins.
 */
export async function writeFileAtomic(file: string, data: string, opts: { mode?: number } = {}): Promise<void> {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    const handle = await open(tmp, 'w', opts.mode ?? 0o644);
    try {
      await handle.writeFile(data);
      if (opts.mode !== undefined) await handle.chmod(opts.mode);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
}
