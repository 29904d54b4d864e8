import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeEvents } from '@mlmon/runtime';
import { sampleEvents } from '../src/testing.js';
import { testCluster } from '@mlmon/elasticsearch/testing';
import { DATASETS, desiredTemplates, EventValidationError, indexForEvent, missingFieldTypes, setupTemplates, type Dataset } from '../src/index.js';

const cluster = testCluster();
const { client, prefix } = cluster;
afterAll(cluster.cleanup);

describe('setupTemplates', () => {
  it('installs every template once; a second run changes nothing', async () => {
    const names = desiredTemplates(prefix).map((t) => t.name);
    const first = await setupTemplates(client, { prefix });
    expect(first.created.sort()).toEqual([...names].sort());

    const second = await setupTemplates(client, { prefix });
    expect(second).toEqual({ created: [], updated: [], unchanged: names });
  });

  it('updates a template whose body changed, and only that one', async () => {
    const name = `${prefix}-feedback`;
    const { index_templates } = await client.indices.getIndexTemplate({ name });
    const current = index_templates[0]!.index_template;
    await client.indices.putIndexTemplate({ name, body: { ...current, priority: 150, _meta: { mlmon_hash: 'stale' } } } as never);
    const report = await setupTemplates(client, { prefix });
    expect(report.updated).toEqual([name]);
    expect(report.created).toEqual([]);
  });
});

describe('ECS field types', () => {
  type Node = { type?: string; ignore_above?: number; properties?: Record<string, Node>; fields?: Record<string, Node> };
  const walk = (props: Record<string, Node>, visit: (path: string, n: Node) => void, prefix = '') => {
    for (const [k, n] of Object.entries(props)) {
      visit(prefix + k, n);
      if (n.properties) walk(n.properties, visit, `${prefix}${k}.`);
      if (n.fields) walk(n.fields, visit, `${prefix}${k}.`);
    }
  };
  const components = (missing: Set<'match_only_text' | 'wildcard'>) =>
    desiredTemplates(prefix, missing).flatMap((t) => ('template' in t.body ? [t.body.template?.mappings?.properties as Record<string, Node> | undefined] : [])).filter((p) => p !== undefined);

  it('every keyword carries ignore_above 1024, as in ECS', () => {
    const keywords: string[] = [];
    for (const props of components(new Set())) walk(props, (path, n) => n.type === 'keyword' && keywords.push(`${path}:${n.ignore_above}`));
    expect(keywords.length).toBeGreaterThan(20);
    expect(keywords.filter((k) => !k.endsWith(':1024'))).toEqual([]);
  });

  it("keeps ECS's match_only_text and wildcard where the cluster has them, and falls back to text and keyword where it does not", async () => {
    const types = (missing: Set<'match_only_text' | 'wildcard'>) => {
      const found = new Map<string, string>();
      for (const props of components(missing)) walk(props, (path, n) => n.type && found.set(path, n.type));
      return found;
    };
    const full = types(new Set());
    expect([full.get('message'), full.get('error.message'), full.get('user_agent.original.text')]).toEqual(['match_only_text', 'match_only_text', 'match_only_text']);
    expect([full.get('url.original'), full.get('error.stack_trace')]).toEqual(['wildcard', 'wildcard']);
    const bare = types(new Set(['match_only_text', 'wildcard']));
    expect([bare.get('message'), bare.get('url.original')]).toEqual(['text', 'keyword']);
    // The cluster of this run: the integration-test distribution lacks both modules, a full one has both.
    const modules = await client.nodes.info({ metric: 'plugins' });
    const names = new Set(Object.values(modules.nodes).flatMap((n) => (n.modules ?? []).map((m) => m.name)));
    expect(await missingFieldTypes(client)).toEqual(new Set([...(names.has('mapper-extras') ? [] : ['match_only_text']), ...(names.has('x-pack-wildcard') ? [] : ['wildcard'])]));
  });
});

describe('events in the real cluster', () => {
  beforeAll(() => setupTemplates(client, { prefix }));

  it.each(Object.keys(DATASETS) as Dataset[])('indexes a valid %s event, found by a term query on its id', async (dataset) => {
    const event = sampleEvents()[dataset];
    const result = await writeEvents(client, { prefix, events: [event], refresh: true });
    expect(result).toMatchObject({ indexed: 1, failed: [] });

    const index = indexForEvent(prefix, event);
    const predictionId = dataset === 'mlmon.prediction' ? sampleIdOf(event) : undefined;
    const query = predictionId
      ? { term: { 'mlmon.prediction.id': predictionId } }
      : { term: { 'event.dataset': dataset } };
    const found = await client.search({ index, query });
    expect(found.hits.hits).toHaveLength(1);
    const id = found.hits.hits[0]!._id!;
    const byId = await client.search({ index, query: { term: { _id: id } } });
    expect(byId.hits.hits[0]!._source).toMatchObject({ event: { dataset } });
    if (predictionId) expect(id).toBe(predictionId);
  });

  it('never duplicates a prediction written twice', async () => {
    const event = sampleEvents()['mlmon.prediction'];
    await writeEvents(client, { prefix, events: [event], refresh: true });
    const again = await writeEvents(client, { prefix, events: [event], refresh: true });
    expect(again).toMatchObject({ indexed: 0, duplicates: 1, failed: [] });
    const { count } = await client.count({ index: indexForEvent(prefix, event), query: { term: { 'mlmon.prediction.id': sampleIdOf(event) } } });
    expect(count).toBe(1);
  });

  it('rejects an invalid event before it reaches Elasticsearch, naming the field', async () => {
    const good = sampleEvents()['mlmon.feedback'];
    const bad = { ...good, mlmon: { ...good.mlmon, feedback: { ...good.mlmon.feedback, delay_ms: -5 } } };
    const attempt = writeEvents(client, { prefix, events: [good, bad], refresh: true });
    await expect(attempt).rejects.toThrow(EventValidationError);
    await expect(writeEvents(client, { prefix, events: [bad] })).rejects.toThrow(/event #0: mlmon\.feedback: mlmon\.feedback\.delay_ms/);
    // The batch is all-or-nothing: the valid event before the bad one was not written either.
    const { count } = await client.count({
      index: `${prefix}-feedback-*`,
      query: { term: { 'mlmon.prediction.id': good.mlmon.prediction.id } },
    });
    expect(count).toBe(0);
  });

  it('types prediction features as floats kept as doc values only, and keeps unknown fields unindexed', async () => {
    const event = sampleEvents()['mlmon.prediction'];
    const withExtra = { ...event, process: { pid: 1, title: 'node' }, labels: { team: 'ml' } };
    await writeEvents(client, { prefix, events: [withExtra], refresh: true });
    const index = indexForEvent(prefix, event);
    const mapping = await client.indices.getFieldMapping({ index, fields: ['mlmon.prediction.features.*', 'labels.*', 'process.title'] });
    const fields = mapping[index]!.mappings;
    // Not in the points index (bench:cost: a third of a prediction's bytes went to indexing what is only aggregated).
    expect(fields['mlmon.prediction.features.mean_radius']?.mapping).toEqual({ mean_radius: { type: 'float', index: false } });
    expect(fields['labels.team']).toBeUndefined();
    expect(fields['process.title']).toBeUndefined();

    const range = await client.count({ index, query: { range: { 'mlmon.prediction.features.mean_radius': { gte: 17, lte: 18 } } } });
    expect(range.count).toBeGreaterThanOrEqual(1);
    // trace looks predictions up by id, which is indexed though it has no doc values.
    const byId = await client.count({ index, query: { term: { 'mlmon.prediction.id': sampleIdOf(event) } } });
    expect(byId.count).toBe(1);
    const doc = await client.get<Record<string, unknown>>({ index, id: sampleIdOf(event) });
    expect(doc._source).toMatchObject({ labels: { team: 'ml' } });
  });
});

function sampleIdOf(event: unknown): string {
  return (event as { mlmon: { prediction: { id: string } } }).mlmon.prediction.id;
}
