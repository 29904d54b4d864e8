/**
 * Watcher's ObjectPath.eval: a dot-separated path into maps and lists, a
 * numeric segment indexes a list, anything missing is null. An empty path is
 * the object itself. Keys that contain dots cannot be reached, as in Watcher.
 */
export function evalPath(path: string, root: unknown): unknown {
  if (path === '') return root;
  let at: unknown = root;
  for (const part of path.split('.')) {
    if (at === null || at === undefined) return null;
    if (Array.isArray(at)) {
      if (!/^-?\d+$/.test(part)) return null;
      at = at[Number(part)];
    } else if (typeof at === 'object') {
      at = Object.hasOwn(at, part) ? (at as Record<string, unknown>)[part] : null;
    } else return null;
  }
  return at ?? null;
}
