import { familyPattern, INDEX_FAMILIES } from '@mlmon/contract';
import { DASHBOARDS, SAVED_SEARCHES } from './definitions.js';
import { FIELDS, type FieldName } from './fields.js';
import { panelColumns, panelUnit, type Bucket, type DataViewKey, type Metric, type MetricStyle, type Panel } from './model.js';

/**
 * Kibana 8.8 saved objects, in the shapes Kibana's own 8.8 sample data uses
 * (index-pattern, search, dashboard with by-value Lens panels). The
 * migration versions say which shape they are, so Kibana migrates nothing it
 * should not.
 */
export const KIBANA_VERSION = '8.8.0';

export interface SavedObject {
  id: string;
  type: 'index-pattern' | 'search' | 'dashboard';
  attributes: Record<string, unknown>;
  references: Array<{ id: string; name: string; type: string }>;
  coreMigrationVersion: string;
  typeMigrationVersion: string;
}

const TYPE_MIGRATION = { 'index-pattern': '8.0.0', search: '8.0.0', dashboard: '8.7.0' } as const;
const savedObject = (type: SavedObject['type'], id: string, attributes: Record<string, unknown>, references: SavedObject['references'] = []): SavedObject => ({
  id,
  type,
  attributes,
  references,
  coreMigrationVersion: KIBANA_VERSION,
  typeMigrationVersion: TYPE_MIGRATION[type],
});

export const dataViewId = (key: DataViewKey) => `mlmon-${key}`;
export const dataViewPattern = (prefix: string, key: DataViewKey) => (key === 'all' ? `${prefix}-*` : familyPattern(prefix, key));

// Kibana's duration field format: nanoseconds in the document, milliseconds on screen.
const fieldFormat = (unit: 'ns' | 'bytes') =>
  unit === 'ns' ? { id: 'duration', params: { inputFormat: 'nanoseconds', outputFormat: 'asMilliseconds', outputPrecision: 2 } } : { id: 'bytes' };

function dataView(prefix: string, key: DataViewKey): SavedObject {
  const formats = Object.fromEntries(
    Object.entries(FIELDS)
      .filter(([, f]) => 'unit' in f && (key === 'all' || (f.families as readonly string[]).includes(key)))
      .map(([name, f]) => [name, fieldFormat((f as { unit: 'ns' | 'bytes' }).unit)]),
  );
  return savedObject('index-pattern', dataViewId(key), {
    title: dataViewPattern(prefix, key),
    name: key === 'all' ? 'mlmon: every line' : `mlmon: ${key}`,
    timeFieldName: '@timestamp',
    // Importable before the first line is shipped: a fresh deployment has no indices yet.
    allowNoIndex: true,
    fieldFormatMap: JSON.stringify(formats),
    fields: '[]',
    runtimeFieldMap: '{}',
    typeMeta: '{}',
  });
}

const luceneQuery = (query = '') => ({ query, language: 'lucene' });

function lensColumn(c: Bucket | Exclude<Metric, { op: 'share' }>, orderBy: string | undefined): Record<string, unknown> {
  if (c.op === 'date_histogram') {
    return { label: '@timestamp', dataType: 'date', operationType: 'date_histogram', sourceField: '@timestamp', isBucketed: true, scale: 'interval', params: { interval: 'auto', includeEmptyRows: true, dropPartials: false } };
  }
  if (c.op === 'terms') {
    const numeric = FIELDS[c.field].type !== 'keyword';
    return {
      label: c.label,
      customLabel: true,
      dataType: numeric ? 'number' : 'string',
      operationType: 'terms',
      sourceField: c.field,
      isBucketed: true,
      scale: 'ordinal',
      params: { size: c.size, orderBy: orderBy ? { type: 'column', columnId: orderBy } : { type: 'alphabetical' }, orderDirection: 'desc', otherBucket: true, missingBucket: false, parentFormat: { id: 'terms' } },
    };
  }
  const base = { label: c.label, customLabel: true, dataType: 'number', isBucketed: false, scale: 'ratio' };
  if (c.op === 'count') return { ...base, operationType: 'count', sourceField: '___records___', params: { emptyAsNull: true } };
  if (c.op === 'percentile') return { ...base, operationType: 'percentile', sourceField: c.field, params: { percentile: c.percentile } };
  return { ...base, operationType: c.op, sourceField: c.field, params: { emptyAsNull: true } };
}

/**
 * A metric's Lens columns: one, or for a share the formula column and the hidden columns Lens keeps for a
 * formula (each part, then the math over them, ids `<id>X0`…), as Lens 8.8 saves a formula it parsed.
 */
function metricColumns(id: string, m: Metric): Array<[string, Record<string, unknown>]> {
  if (m.op !== 'share') return [[id, lensColumn(m, undefined)]];
  if (m.where.includes("'")) throw new Error(`share "${m.label}": a formula's lucene='…' argument cannot hold a quote`);
  const formula = `count(lucene='${m.where}') / count()`;
  const part = { label: `Part of ${m.label}`, customLabel: true, dataType: 'number', isBucketed: false, scale: 'ratio' };
  const count = { ...part, operationType: 'count', sourceField: '___records___', params: { emptyAsNull: false } };
  return [
    [id, { label: m.label, customLabel: true, dataType: 'number', isBucketed: false, scale: 'ratio', operationType: 'formula', params: { formula, isFormulaBroken: false, format: { id: 'percent', params: { decimals: 1 } } }, references: [`${id}X2`] }],
    [`${id}X0`, { ...count, filter: { query: m.where, language: 'lucene' } }],
    [`${id}X1`, count],
    [`${id}X2`, { ...part, operationType: 'math', params: { tinymathAst: { type: 'function', name: 'divide', args: [`${id}X0`, `${id}X1`], location: { min: 0, max: formula.length }, text: formula } }, references: [`${id}X0`, `${id}X1`] }],
  ];
}

// Lens draws every data series as a line; a band and a threshold get muted colours so that the value stands out.
const STYLE_COLORS: Record<MetricStyle, string> = { band: '#98a2b3', threshold: '#bd271e' };
function yConfig(metrics: Metric[], ids: string[]): { yConfig?: Array<{ forAccessor: string; color: string }> } {
  const styled = metrics.flatMap((m, i) => (m.style ? [{ forAccessor: ids[i]!, color: STYLE_COLORS[m.style] }] : []));
  return styled.length ? { yConfig: styled } : {};
}

/** Column ids are stable names (b0, m0, …) so that regenerating the objects changes nothing. */
export function lensAttributes(p: Panel, dataView: string): Record<string, unknown> {
  const layerId = `layer-${p.id}`;
  const { buckets, metrics } = panelColumns(p);
  const metricIds = metrics.map((_, i) => `m${i}`);
  const bucketIds = buckets.map((_, i) => `b${i}`);
  const columns = Object.fromEntries([...buckets.map((b, i) => [bucketIds[i]!, lensColumn(b, metricIds[0])]), ...metrics.flatMap((m, i) => metricColumns(metricIds[i]!, m))]);
  const layer = { layerId, layerType: 'data' };
  let visualizationType: string;
  let visualization: Record<string, unknown>;
  switch (p.kind) {
    case 'heatmap':
      visualizationType = 'lnsHeatmap';
      visualization = {
        ...layer,
        shape: 'heatmap',
        yAccessor: bucketIds[0],
        xAccessor: bucketIds[1],
        valueAccessor: metricIds[0],
        legend: { isVisible: true, position: 'right', type: 'heatmap_legend' },
        gridConfig: { type: 'heatmap_grid', isCellLabelVisible: false, isYAxisLabelVisible: true, isXAxisLabelVisible: true, isYAxisTitleVisible: false, isXAxisTitleVisible: false },
      };
      break;
    case 'table':
      visualizationType = 'lnsDatatable';
      visualization = { ...layer, columns: [...bucketIds, ...metricIds].map((columnId) => ({ columnId })) };
      break;
    case 'metric':
      visualizationType = 'lnsMetric';
      visualization = { ...layer, metricAccessor: metricIds[0] };
      break;
    default:
      visualizationType = 'lnsXY';
      visualization = {
        legend: { isVisible: true, position: 'right' },
        valueLabels: 'hide',
        fittingFunction: 'None',
        preferredSeriesType: p.kind,
        // The data views format ns durations as milliseconds (fieldFormat); the axis says so.
        ...(panelUnit(p)?.unit === 'ms' ? { yTitle: 'ms' } : {}),
        layers: [{ ...layer, seriesType: p.kind, xAccessor: bucketIds.at(-1), accessors: metricIds, ...(p.split ? { splitAccessor: bucketIds[0] } : {}), ...yConfig(metrics, metricIds) }],
      };
  }
  return {
    title: p.title,
    visualizationType,
    type: 'lens',
    references: [{ type: 'index-pattern', id: dataView, name: `indexpattern-datasource-layer-${layerId}` }],
    state: {
      visualization,
      query: luceneQuery(p.query),
      filters: [],
      datasourceStates: { formBased: { layers: { [layerId]: { columns, columnOrder: Object.keys(columns), incompleteColumns: {} } } } },
      internalReferences: [],
      adHocDataViews: {},
    },
  };
}

// Dashboards are 48 columns wide; two panels a row.
const grid = (i: number) => ({ x: (i % 2) * 24, y: Math.floor(i / 2) * 12, w: 24, h: 12, i: String(i) });

function dashboard(d: (typeof DASHBOARDS)[number]): SavedObject {
  const panels = d.panels.map((p, i) => ({
    version: KIBANA_VERSION,
    type: 'lens',
    gridData: grid(i),
    panelIndex: String(i),
    embeddableConfig: { attributes: lensAttributes(p, dataViewId(p.family)), enhancements: {} },
    title: p.title,
  }));
  return savedObject(
    'dashboard',
    d.id,
    {
      title: d.title,
      description: d.description,
      panelsJSON: JSON.stringify(panels),
      optionsJSON: JSON.stringify({ useMargins: true, syncColors: false, syncCursor: true, syncTooltips: false, hidePanelTitles: false }),
      timeRestore: true,
      timeFrom: 'now-1h',
      timeTo: 'now',
      refreshInterval: { pause: false, value: 10_000 },
      version: 1,
      kibanaSavedObjectMeta: { searchSourceJSON: JSON.stringify({ query: luceneQuery(), filter: [] }) },
    },
    // By-value Lens panels carry their data view references inside their attributes; the dashboard lists them too.
    [...new Set(d.panels.map((p) => p.family))].map((f) => ({ id: dataViewId(f), name: `mlmon-data-view-${f}`, type: 'index-pattern' })),
  );
}

function savedSearch(s: (typeof SAVED_SEARCHES)[number]): SavedObject {
  const indexRefName = 'kibanaSavedObjectMeta.searchSourceJSON.index';
  return savedObject(
    'search',
    s.id,
    {
      title: s.title,
      description: s.description,
      columns: s.columns,
      sort: s.sort,
      hits: 0,
      version: 1,
      kibanaSavedObjectMeta: { searchSourceJSON: JSON.stringify({ highlightAll: true, version: true, query: luceneQuery(s.query), filter: [], indexRefName }) },
    },
    [{ id: dataViewId(s.dataView), name: indexRefName, type: 'index-pattern' }],
  );
}

/** Every saved object, data views first so that an import resolves the references of the rest. */
export function savedObjects(prefix: string): SavedObject[] {
  return [...[...INDEX_FAMILIES, 'all' as const].map((k) => dataView(prefix, k)), ...SAVED_SEARCHES.map(savedSearch), ...DASHBOARDS.map(dashboard)];
}

/** The NDJSON Kibana's import API takes: one object a line. */
export function toNdjson(objects: SavedObject[]): string {
  return objects.map((o) => JSON.stringify(o)).join('\n') + '\n';
}

export type { FieldName };
