import type { ProcessInfo } from './managed.js';
import type { StackFile } from './stack-file.js';

/** Calls on a running stack's control API. */
export async function control<T>(stack: StackFile, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${stack.controlUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${stack.adminToken}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = (await res.json()) as T & { error?: { message: string } };
  if (!res.ok) throw new Error(json.error?.message ?? `${method} ${path}: HTTP ${res.status}`);
  return json;
}

export const stackStatus = (s: StackFile) => control<{ processes: ProcessInfo[] }>(s, 'GET', '/status');
export const scaleReplicas = (s: StackFile, count: number) => control<{ processes: ProcessInfo[] }>(s, 'PUT', '/replicas', { count });
