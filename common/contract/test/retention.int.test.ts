import { afterAll, describe, expect, it } from 'vitest';
import { testCluster } from '@mlmon/elasticsearch/testing';
import { applyRetention, familyIndex, INDEX_FAMILIES, indexDay, lifecyclePolicies, RETENTION_DAYS, setupLifecycle, setupTemplates } from '../src/index.js';

const cluster = testCluster();
afterAll(cluster.cleanup);

const DAY = 86_400_000;
const now = new Date('2026-11-22T10:00:00Z');
const daysAgo = (n: number) => new Date(now.getTime() - n * DAY);

describe('retention on a cluster without ILM (the local one)', () => {
  it('deletes exactly the daily indices whose whole day is past their family retention; a dry run deletes nothing', async () => {
    const { client, prefix } = cluster;
    await setupTemplates(client, { prefix });
    // For each family: the last day still kept, the first day past retention, and today.
    const expected: string[] = [];
    const all: string[] = [];
    for (const [family, days] of Object.entries(RETENTION_DAYS) as Array<[keyof typeof RETENTION_DAYS, number]>) {
      const keptEdge = familyIndex(prefix, family, daysAgo(days));
      const expired = familyIndex(prefix, family, daysAgo(days + 1));
      expected.push(expired);
      all.push(keptEdge, expired, familyIndex(prefix, family, now));
    }
    // Not a daily index of ours: never touched whatever its age.
    const odd = `${prefix}-predictions-backup`;
    for (const index of [...all, odd]) await client.indices.create({ index });

    const dry = await applyRetention(client, { prefix, now, dryRun: true });
    expect(dry.deleted.map((d) => d.index).sort()).toEqual([...expected].sort());
    expect(Object.keys(await client.indices.get({ index: `${prefix}-*` })).sort()).toEqual([...all, odd].sort());

    const real = await applyRetention(client, { prefix, now });
    expect(real.deleted.map((d) => d.index).sort()).toEqual([...expected].sort());
    const left = Object.keys(await client.indices.get({ index: `${prefix}-*` })).sort();
    expect(left).toEqual([...all.filter((i) => !expected.includes(i)), odd].sort());
    expect(real.kept).toBe(left.length);
  });

  it('reads the day from the index name only when it is a real day', () => {
    expect(indexDay('mlmon', 'predictions', 'mlmon-predictions-2026.11.21')?.toISOString()).toBe('2026-11-21T00:00:00.000Z');
    expect(indexDay('mlmon', 'predictions', 'mlmon-predictions-2026.02.30')).toBeUndefined();
    expect(indexDay('mlmon', 'predictions', 'mlmon-feedback-2026.11.21')).toBeUndefined();
    expect(indexDay('mlmon', 'predictions', 'mlmon-predictions-2026.11.21-restored')).toBeUndefined();
  });

  it('leaves the lifecycle to `mlmon retention` where the cluster has no ILM, installing nothing', async () => {
    const { client, prefix } = cluster;
    expect(await setupLifecycle(client, { prefix })).toBe(false);
    const components = await client.cluster.getComponentTemplate({ name: `${prefix}@lifecycle.*` }, { ignore: [404] });
    expect(components.component_templates ?? []).toEqual([]);
  });

  it('gives ILM (docker-compose; ILM is not running here) one delete phase per family at the same retention', () => {
    const policies = lifecyclePolicies('mlmon');
    expect(policies.map((p) => [p.name, p.policy.phases.delete?.min_age])).toEqual(
      INDEX_FAMILIES.map((family) => [`mlmon-${family}`, `${RETENTION_DAYS[family]}d`]),
    );
  });
});
