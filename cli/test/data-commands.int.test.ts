import { afterAll, describe, expect, it } from 'vitest';
import { familyIndex, indexTemplateName, RETENTION_DAYS } from '@mlmon/contract';
import { testCluster } from '@mlmon/elasticsearch/testing';
import { mlmon } from './mlmon-process.js';

/** `mlmon setup` and `mlmon retention` as an operator runs them (the compiled CLI), on the test cluster. */
const cluster = testCluster();
const { client, prefix } = cluster;
afterAll(cluster.cleanup);
const env = { ...process.env, MLMON_ES_URL: cluster.url, MLMON_INDEX_PREFIX: prefix };
const DAY = 86_400_000;
const daysAgo = (n: number) => new Date(Date.now() - n * DAY);

describe('mlmon setup and mlmon retention', () => {
  it("install the labeled family's template with the others, and delete a labeled day with its predictions' day, never later", async () => {
    const setup = await mlmon(['setup'], env);
    expect(setup.code, setup.out).toBe(0);
    const template = await client.indices.getIndexTemplate({ name: indexTemplateName(prefix, 'labeled') });
    expect(template.index_templates[0]?.index_template.index_patterns).toEqual([`${prefix}-labeled-*`]);

    // A labeled document copies its prediction: both go once the prediction's retention is over.
    expect(RETENTION_DAYS.labeled).toBe(RETENTION_DAYS.predictions);
    const days = RETENTION_DAYS.labeled;
    const expired = [familyIndex(prefix, 'labeled', daysAgo(days + 2)), familyIndex(prefix, 'predictions', daysAgo(days + 2))];
    const kept = [familyIndex(prefix, 'labeled', daysAgo(days - 1)), familyIndex(prefix, 'predictions', daysAgo(days - 1))];
    for (const index of [...expired, ...kept]) await client.indices.create({ index });

    const run = await mlmon(['retention'], env);
    expect(run.code, run.out).toBe(0);
    const day = daysAgo(days + 2).toISOString().slice(0, 10);
    expect(run.out).toContain(`deleted ${expired[0]} (labeled, ${day}, kept ${days} days)`);
    expect(run.out).toContain(`deleted ${expired[1]} (predictions, ${day}, kept ${days} days)`);
    expect(Object.keys(await client.indices.get({ index: `${prefix}-*` })).sort()).toEqual([...kept].sort());
  });
});
