import { z } from 'zod';

const serving = z.object({
  active: z.string(),
  canary: z.object({ version: z.string(), weight: z.number() }).nullable(),
  shadow: z.object({ version: z.string(), sample: z.number() }).nullable(),
  rollback_to: z.string().nullable(),
});
export type Serving = z.infer<typeof serving>;

/** A refusal from the replicas' admin API that is a decision, not a failure (e.g. the version was already rolled back). */
export class ModelAdminRefusal extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ModelAdminRefusal';
  }
}

/**
 * The replicas' model admin API (api/src/routes/models.ts), through nginx or
 * any one replica: the serving state is one shared file, so a change made
 * through one reaches all of them.
 */
export class ModelAdmin {
  constructor(
    private readonly url: string,
    private readonly token: string,
  ) {}

  private async call(method: string, path: string, body?: unknown): Promise<unknown> {
    const res = await fetch(new URL(path, this.url), {
      method,
      headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(10_000),
    });
    const json = (await res.json()) as { error?: { code: string; message: string } };
    if (res.status === 409) throw new ModelAdminRefusal(json.error?.code ?? 'conflict', json.error?.message ?? 'conflict');
    if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${json.error?.message ?? ''}`);
    return json;
  }

  /** Each version's holdout metrics and algorithm, from its model card. */
  async versions(): Promise<Array<{ version: string; algorithm?: string | undefined; holdout_metrics?: Record<string, number> | undefined }>> {
    const listed = z.object({ versions: z.array(z.object({ version: z.string(), algorithm: z.string().optional(), holdout_metrics: z.record(z.string(), z.number()).optional() })) });
    return listed.parse(await this.call('GET', '/v1/models')).versions;
  }

  async serving(): Promise<Serving> {
    return serving.parse(await this.call('GET', '/v1/models'));
  }

  async removeCanary(version: string): Promise<void> {
    await this.call('PUT', '/admin/models/canary', { version, weight: 0 });
  }

  async setCanary(version: string, weight: number): Promise<void> {
    await this.call('PUT', '/admin/models/canary', { version, weight });
  }

  /** Makes the shadow `version` the canary at `weight`%; the replicas refuse (409) if it is no longer the shadow or a canary serves. */
  async promoteShadow(version: string, weight: number): Promise<void> {
    await this.call('POST', '/admin/models/shadow/promote', { version, weight });
  }

  /** Replaces `version` as the active one by the previous good version; returns the new active one. */
  async rollbackActive(version: string): Promise<string> {
    return serving.pick({ active: true }).parse(await this.call('POST', '/admin/models/rollback', { version })).active;
  }
}
