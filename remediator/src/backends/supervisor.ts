import { UnknownReplicaError, type Scaler } from './scaler.js';

interface ProcessInfo {
  name: string;
  state: string;
}

/** The local stack: the supervisor's control API (cli/src/stack/supervise.ts), bearer = the stack's admin token. */
export class SupervisorScaler implements Scaler {
  readonly target = 'local/replicas';

  constructor(
    private readonly url: string,
    private readonly token: string,
  ) {}

  private async call<T>(method: string, path: string, body?: unknown): Promise<{ status: number; json: T & { error?: { code: string; message: string } } }> {
    const res = await fetch(new URL(path, this.url), {
      method,
      headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      // A restart waits for the replica to be ready again; scaling out for each new one.
      signal: AbortSignal.timeout(120_000),
    });
    const json = (await res.json()) as T & { error?: { code: string; message: string } };
    return { status: res.status, json };
  }

  private static count(processes: ProcessInfo[]): number {
    return processes.filter((p) => p.name.startsWith('replica-')).length;
  }

  async replicas(): Promise<number> {
    const { status, json } = await this.call<{ processes: ProcessInfo[] }>('GET', '/status');
    if (status !== 200) throw new Error(`supervisor GET /status: HTTP ${status} ${json.error?.message ?? ''}`);
    return SupervisorScaler.count(json.processes);
  }

  async scaleTo(count: number): Promise<number> {
    const { status, json } = await this.call<{ processes: ProcessInfo[] }>('PUT', '/replicas', { count });
    if (status !== 200) throw new Error(`supervisor PUT /replicas: HTTP ${status} ${json.error?.message ?? ''}`);
    return SupervisorScaler.count(json.processes);
  }

  async restart(replica: string): Promise<void> {
    const { status, json } = await this.call('POST', `/replicas/${encodeURIComponent(replica)}/restart`);
    if (status === 404) throw new UnknownReplicaError(json.error?.message ?? `no replica ${replica}`);
    if (status !== 200) throw new Error(`supervisor restart of ${replica}: HTTP ${status} ${json.error?.message ?? ''}`);
  }
}
