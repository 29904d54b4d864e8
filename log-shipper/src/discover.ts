import { readdir } from 'node:fs/promises';
import path from 'node:path';

/** `*` and `?` in a file name, as a shell expands them; nothing else is special. */
export function fileNamePattern(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replaceAll('*', '[^/]*').replaceAll('?', '[^/]');
  return new RegExp(`^${body}$`);
}

/**
 * The paths that match the patterns now, each once. A directory that does not
 * exist yet matches nothing: services create their log directory when they
 * start, which may be after the shipper.
 */
export async function matchFiles(globs: string[], exclude: ReadonlySet<string> = new Set()): Promise<string[]> {
  const byDir = new Map<string, RegExp[]>();
  for (const glob of globs) {
    const dir = path.dirname(glob);
    byDir.set(dir, [...(byDir.get(dir) ?? []), fileNamePattern(path.basename(glob))]);
  }
  const found: string[] = [];
  for (const [dir, patterns] of byDir) {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    for (const name of names.sort()) {
      const file = path.join(dir, name);
      if (!exclude.has(file) && patterns.some((p) => p.test(name))) found.push(file);
    }
  }
  return found;
}
