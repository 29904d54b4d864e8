import { afterAll, describe, expect, it } from 'vitest';
import { testCluster } from '@mlmon/elasticsearch/testing';
import { createEsClient, freePort } from '@mlmon/runtime';
import { watchClusterHealth } from '../src/status.js';

const cluster = testCluster();
afterAll(() => cluster.cleanup());

describe("the shipper's view of the cluster's health", () => {
  it('reports what the cluster says, with no time spent away from green on a green cluster', async () => {
    const health = await cluster.client.cluster.health();
    const watch = watchClusterHealth(cluster.client);
    await watch.sample();
    expect(watch.latest()).toEqual({
      name: health.cluster_name,
      status: health.status,
      nodes: health.number_of_nodes,
      data_nodes: health.number_of_data_nodes,
      unassigned_shards: health.unassigned_shards,
      active_shards_pct: Number(health.active_shards_percent_as_number),
      not_green_seconds: health.status === 'green' ? 0 : expect.any(Number),
    });
  });

  it('leaves the health out when no node answers, instead of repeating the last answer', async () => {
    const down = createEsClient({ MLMON_ES_URL: `http://127.0.0.1:${await freePort()}`, MLMON_ES_PORT: 9200 }, { maxRetries: 0 });
    try {
      const watch = watchClusterHealth(down);
      await watch.sample();
      expect(watch.latest()).toBeUndefined();
    } finally {
      await down.close();
    }
  });
});
