import { waitUntil } from '@mlmon/runtime';
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

/** Each running replica's serving state, asked of the replica itself (not through nginx), so a replica that disagrees shows. */
export async function servingStates(stack: StackFile): Promise<Array<{ replica: string; state?: ServingState; error?: string }>> {
  const { processes } = await stackStatus(stack);
  const replicas = processes.filter((p) => p.name.startsWith('replica-') && p.state === 'running' && p.port !== undefined);
  return Promise.all(
    replicas.map(async (p) => {
      try {
        const res = await fetch(`http://127.0.0.1:${p.port}/v1/models`);
        if (!res.ok) return { replica: p.name, error: `HTTP ${res.status}` };
        return { replica: p.name, state: (await res.json()) as ServingState };
      } catch (err) {
        return { replica: p.name, error: (err as Error).message };
      }
    }),
  );
}

/** Waits until every running replica serves a state that `holds`: a change through one replica reaches the others when they re-read the shared state file. */
export async function untilEveryReplica(stack: StackFile, holds: (s: ServingState) => boolean, timeoutMs = 15_000): Promise<void> {
  await waitUntil(async () => (await servingStates(stack)).every((r) => r.state && holds(r.state)), { timeoutMs, what: 'every replica to serve the new state' });
}
