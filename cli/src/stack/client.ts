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

/** An admin call on the replicas through nginx: the serving state it returns, or the replica's refusal. */
export async function admin<T = ServingState>(stack: StackFile, method: 'PUT' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${stack.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${stack.adminToken}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!res.ok) {
    const error = (JSON.parse(text || '{}') as { error?: { code?: string; message?: string } }).error;
    throw new Error(`${method} ${path}: HTTP ${res.status}${error ? ` ${error.code}: ${error.message}` : ` ${text}`}`);
  }
  return JSON.parse(text) as T;
}

/** What a replica serves (GET /v1/models): the active version, the canary and its weight, the shadow and its sample. */
export interface ServingState {
  active: string;
  canary: { version: string; weight: number } | null;
  shadow: { version: string; sample: number } | null;
}
