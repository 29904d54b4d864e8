import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { datasetsOf, familyIndex, INDEX_FAMILIES, setupTemplates, type IndexFamily } from '@mlmon/contract';
import { testCluster } from '@mlmon/elasticsearch/testing';
import { writeEvents } from '@mlmon/runtime';
import {
  AGGREGATABLE_TYPES,
  DASHBOARDS,
  FIELDS,
  fieldsOf,
  leafRows,
  panelRequest,
  queryFields,
  SAVED_SEARCHES,
  savedObjects,
  toNdjson,
  dataViewPattern,
  type DataViewKey,
  type FieldName,
} from '../src/index.js';
import { panelFixtureEvents } from '../src/testing.js';

const cluster = testCluster();
const { client, prefix } = cluster;
const objects = savedObjects(prefix);
const mappings = new Map<IndexFamily, Map<string, string>>();

type Node = { type?: string; properties?: Record<string, Node> };
function flatten(props: Record<string, Node>, out = new Map<string, string>(), path = ''): Map<string, string> {
  for (const [k, n] of Object.entries(props)) {
    if (n.properties) flatten(n.properties, out, `${path}${k}.`);
    else if (n.type) out.set(`${path}${k}`, n.type);
  }
  return out;
}

// ECS's refined types stand for the ones a field list names: the local cluster maps them to their fallbacks.
const sameType = (declared: string, mapped: string) =>
  declared === mapped || (declared === 'keyword' && mapped === 'wildcard') || (declared === 'text' && mapped === 'match_only_text');

const familiesOf = (view: DataViewKey): IndexFamily[] => (view === 'all' ? [...INDEX_FAMILIES] : [view]);
// A data view's fields as Kibana sees them: over several families, a field mapped with two types is a conflict, which no chart can use.
function viewMapping(view: DataViewKey, of = mappings): Map<string, string> {
  const out = new Map<string, string>();
  for (const family of familiesOf(view)) for (const [field, type] of of.get(family)!) out.set(field, out.has(field) && out.get(field) !== type ? 'conflict' : type);
  return out;
}

beforeAll(async () => {
  await setupTemplates(client, { prefix });
  for (const family of INDEX_FAMILIES) {
    const sim = (await client.indices.simulateIndexTemplate({ name: familyIndex(prefix, family, new Date()) })) as unknown as { template: { mappings: { properties: Record<string, Node> } } };
    mappings.set(family, flatten(sim.template.mappings.properties));
  }
});
afterAll(() => cluster.cleanup());

describe('Kibana saved objects, checked without Kibana (Kibana is not running)', () => {
  it('every field in the field list is mapped with its declared type in each family it names', () => {
    const problems: string[] = [];
    for (const [name, f] of Object.entries(FIELDS)) {
      for (const family of f.families) {
        const mapped = mappings.get(family)!.get(name);
        if (!mapped || !sameType(f.type, mapped)) problems.push(`${name} in ${family}: declared ${f.type}, mapped ${mapped ?? 'nowhere'}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('every charted field is aggregatable in the panel family, every query field and saved-search column exists', () => {
    const problems: string[] = [];
    for (const d of DASHBOARDS) {
      for (const p of d.panels) {
        const mapping = viewMapping(p.family);
        for (const field of fieldsOf(p).charted) {
          const type = mapping.get(field);
          if (!type || !AGGREGATABLE_TYPES.has(type)) problems.push(`${d.title} / ${p.title}: ${field} is ${type ?? 'not mapped'} in ${p.family}`);
        }
        for (const field of fieldsOf(p).queried) if (!mapping.has(field)) problems.push(`${d.title} / ${p.title}: query field ${field} not in ${p.family}`);
      }
    }
    for (const s of SAVED_SEARCHES) {
      const inSome = (field: string) => familiesOf(s.dataView).some((f) => mappings.get(f)!.has(field));
      for (const field of [...s.columns, ...s.sort.map(([f]) => f), ...queryFields(s.query)]) if (!inSome(field)) problems.push(`${s.title}: ${field} is not mapped`);
      for (const [field] of s.sort) {
        const types = familiesOf(s.dataView).map((f) => mappings.get(f)!.get(field)).filter(Boolean);
        if (!types.every((t) => AGGREGATABLE_TYPES.has(t!))) problems.push(`${s.title}: sorts on ${field} (${types.join(', ')})`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('the walk catches a field that is not mapped or not aggregatable', () => {
    const mapping = mappings.get('nginx')!;
    expect(mapping.get('message')).toMatch(/text/);
    expect(AGGREGATABLE_TYPES.has(mapping.get('message')!)).toBe(false);
    expect(viewMapping('all').get('mlmon.nginx.upstream.address')).toBe('keyword');
    const clash = new Map<IndexFamily, Map<string, string>>([...mappings, ['feedback', new Map([...mappings.get('feedback')!, ['mlmon.nginx.upstream.address', 'long']])]]);
    expect(viewMapping('all', clash).get('mlmon.nginx.upstream.address')).toBe('conflict');
    expect(queryFields('event.dataset:"x" AND _exists_:error.code AND NOT mlmon.drift.feature:"_all"')).toEqual(['event.dataset', 'error.code', 'mlmon.drift.feature']);
  });

  it('every reference resolves: data views, Lens layers, search sources and column ids', () => {
    const ids = new Map(objects.map((o) => [`${o.type}:${o.id}`, o]));
    expect(ids.size).toBe(objects.length);
    const problems: string[] = [];
    const resolve = (from: string, ref: { type: string; id: string }) => ids.has(`${ref.type}:${ref.id}`) || problems.push(`${from}: ${ref.type} ${ref.id} does not exist`);
    for (const o of objects) {
      for (const ref of o.references) resolve(`${o.type} ${o.id}`, ref);
      if (o.type === 'search') {
        const source = JSON.parse((o.attributes.kibanaSavedObjectMeta as { searchSourceJSON: string }).searchSourceJSON) as { indexRefName: string };
        if (!o.references.some((r) => r.name === source.indexRefName)) problems.push(`${o.id}: no reference named ${source.indexRefName}`);
      }
      if (o.type === 'dashboard') {
        const panels = JSON.parse(o.attributes.panelsJSON as string) as Array<{ embeddableConfig: { attributes: { references: Array<{ id: string; type: string; name: string }>; state: { visualization: Record<string, unknown>; datasourceStates: { formBased: { layers: Record<string, { columns: Record<string, unknown>; columnOrder: string[] }> } } } } } }>;
        for (const p of panels) {
          const { references, state } = p.embeddableConfig.attributes;
          for (const ref of references) resolve(`${o.id} panel`, ref);
          for (const [layerId, layer] of Object.entries(state.datasourceStates.formBased.layers)) {
            if (!references.some((r) => r.name === `indexpattern-datasource-layer-${layerId}`)) problems.push(`${o.id}: layer ${layerId} has no data view reference`);
            expect(Object.keys(layer.columns).sort()).toEqual([...layer.columnOrder].sort());
            const used = JSON.stringify(state.visualization).match(/"[bm]\d+"/g) ?? [];
            for (const id of used) if (!(JSON.parse(id) in layer.columns)) problems.push(`${o.id}: visualization names column ${id}, which the layer lacks`);
          }
        }
      }
    }
    expect(problems).toEqual([]);
    expect(objects.filter((o) => o.type === 'dashboard').map((o) => o.attributes.title)).toEqual(['Service health', 'Model quality', 'Drift and data quality', 'Resources', 'Alerts and remediations']);
  });

  it('the judgment panels chart the active version over the rules\' 1m window, with the band and thresholds in their own colours', () => {
    const dashboard = (title: string) => objects.find((o) => o.type === 'dashboard' && o.attributes.title === title)!;
    const lens = (title: string, panel: string) => {
      const panels = JSON.parse(dashboard(title).attributes.panelsJSON as string) as Array<{ embeddableConfig: { attributes: { title: string; state: { query: { query: string }; visualization: { layers: Array<{ yConfig?: Array<{ forAccessor: string; color: string }> }> } } } } }>;
      return panels.find((p) => p.embeddableConfig.attributes.title === panel)!.embeddableConfig.attributes.state;
    };
    const estimated = lens('Model quality', 'Estimated (CBPE) against realized accuracy, band and thresholds');
    expect(estimated.query.query).toBe('event.dataset:"mlmon.quality" AND mlmon.model.role:"active" AND mlmon.window.name:"1m"');
    // m0 the estimate, m1 and m2 its band, m3 and m4 the thresholds, m5 the realized accuracy.
    expect(estimated.visualization.layers[0]!.yConfig).toEqual([
      { forAccessor: 'm1', color: '#98a2b3' },
      { forAccessor: 'm2', color: '#98a2b3' },
      { forAccessor: 'm3', color: '#bd271e' },
      { forAccessor: 'm4', color: '#bd271e' },
    ]);
    const reconstruction = lens('Drift and data quality', 'Reconstruction error (multivariate drift), band and thresholds');
    expect(reconstruction.query.query).toBe('event.dataset:"mlmon.drift" AND mlmon.model.role:"active" AND mlmon.window.name:"1m" AND mlmon.drift.feature:"_all"');
    expect(reconstruction.visualization.layers[0]!.yConfig!.map((y) => y.forAccessor)).toEqual(['m1', 'm2', 'm3', 'm4']);
    expect(lens('Service health', 'Request latency at nginx (p50, p99)').visualization.layers[0]!.yConfig).toBeUndefined();
  });

  it('the Service health panels group by replica, name the latency unit and chart the failure share as a formula', () => {
    const panels = DASHBOARDS.find((d) => d.id === 'mlmon-service-health')!.panels;
    // No panel groups by nginx's lists of addresses tried.
    expect(panels.flatMap((p) => fieldsOf(p).charted).filter((f) => f.startsWith('mlmon.nginx'))).toEqual([]);
    const dashboard = objects.find((o) => o.id === 'mlmon-service-health')!;
    const lens = (title: string) =>
      (JSON.parse(dashboard.attributes.panelsJSON as string) as Array<{ title: string; embeddableConfig: { attributes: { state: { visualization: { yTitle?: string }; datasourceStates: { formBased: { layers: Record<string, { columns: Record<string, { operationType: string; params?: { formula?: string }; filter?: unknown; references?: string[] }> }> } } } } } }>).find((p) => p.title === title)!
        .embeddableConfig.attributes.state;
    expect(lens('Request latency at nginx (p50, p99)').visualization.yTitle).toBe('ms');
    const columns = Object.values(lens('Share of failed requests at nginx (4xx/5xx)').datasourceStates.formBased.layers)[0]!.columns;
    expect(columns.m0).toMatchObject({ operationType: 'formula', params: { formula: "count(lucene='event.outcome:failure') / count()" }, references: ['m0X2'] });
    expect(columns.m0X0).toMatchObject({ operationType: 'count', filter: { query: 'event.outcome:failure', language: 'lucene' } });
    expect(columns.m0X2).toMatchObject({ operationType: 'math', references: ['m0X0', 'm0X1'] });
  });

  it('the data views show ns durations as milliseconds', () => {
    const nginx = objects.find((o) => o.id === 'mlmon-nginx')!;
    expect(nginx.attributes.title).toBe(dataViewPattern(prefix, 'nginx'));
    expect(JSON.parse(nginx.attributes.fieldFormatMap as string)['event.duration']).toEqual({ id: 'duration', params: { inputFormat: 'nanoseconds', outputFormat: 'asMilliseconds', outputPrecision: 2 } });
  });

  it('the NDJSON is one object a line and the same on every generation', () => {
    const ndjson = toNdjson(objects);
    expect(ndjson.trim().split('\n').map((l) => (JSON.parse(l) as { id: string }).id)).toEqual(objects.map((o) => o.id));
    expect(toNdjson(savedObjects(prefix))).toBe(ndjson);
  });
});

describe("every panel's query, as an Elasticsearch request on the real cluster (Kibana is not running)", () => {
  const from = new Date(Date.now() - 3_600_000).toISOString();
  const to = new Date(Date.now() + 60_000).toISOString();
  beforeAll(async () => {
    const events = panelFixtureEvents();
    // Every dataset, so each data view has lines.
    expect(new Set(events.map((e) => e.event.dataset))).toEqual(new Set(INDEX_FAMILIES.flatMap(datasetsOf)));
    const res = await writeEvents(client, { prefix, events, refresh: true });
    expect(res.failed).toEqual([]);
  });

  const panels = DASHBOARDS.flatMap((d) => d.panels.map((p) => [`${d.title} / ${p.title}`, p] as const));
  it.each(panels)('%s returns buckets with values', async (_name, panel) => {
    const res = await client.search(panelRequest(panel, { prefix, from, to }));
    const rows = leafRows(panel, res.aggregations as Record<string, unknown> | undefined);
    expect(rows.length).toBeGreaterThan(0);
    // Each metric has a value in some bucket: a field named wrong gives buckets full of nulls.
    for (let m = 0; m < rows[0]!.length; m++) expect(rows.some((r) => r[m] !== null && r[m] !== 0), `metric ${m}`).toBe(true);
  });

  it.each(SAVED_SEARCHES.map((s) => [s.title, s] as const))('saved search %s finds lines', async (_name, s) => {
    const res = await client.search({
      index: dataViewPattern(prefix, s.dataView),
      query: { bool: { filter: [{ query_string: { query: s.query } }] } },
      sort: s.sort.map(([field, order]) => ({ [field]: { order, unmapped_type: FIELDS[field as FieldName].type === 'text' ? 'keyword' : FIELDS[field as FieldName].type } })),
    });
    expect(res.hits.hits.length).toBeGreaterThan(0);
  });
});
