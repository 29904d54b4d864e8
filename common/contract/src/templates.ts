import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Client, estypes } from '@elastic/elasticsearch';
import type { z } from 'zod';
import { DATASETS, DERIVED_DOCUMENTS, INDEX_FAMILIES, type Dataset, type DerivedDocument, type IndexFamily } from './events/index.js';
import { familyPattern } from './indices.js';
import { lifecyclePolicies, lifecyclePolicyName } from './retention.js';

type ComponentBody = Omit<estypes.ClusterPutComponentTemplateRequest, 'name'>;
// The 8.8 client's types predate ignore_missing_component_templates, which the 8.8 server accepts.
type IndexTemplateBody = Omit<estypes.IndicesPutIndexTemplateRequest, 'name'> & { ignore_missing_component_templates?: string[] };

/** Reads a component template's JSON by its part name (`settings`, `mlmon.prediction`, ...). */
export type ComponentSource = (part: string) => ComponentBody & { _meta?: estypes.Metadata };

const componentFile: ComponentSource = (name) => JSON.parse(readFileSync(new URL(`../templates/components/${name}.json`, import.meta.url), 'utf8')) as ComponentBody;

/**
 * Field types ECS uses that live in optional modules: `match_only_text` in
 * mapper-extras, `wildcard` in x-pack-wildcard. A full distribution has both;
 * the integration-test distribution mlmon runs locally has neither, so there
 * each falls back to the type it refines (the queries mlmon runs mean the same
 * on both). Keyed by the module that provides the type.
 */
export const OPTIONAL_FIELD_TYPES = {
  match_only_text: { module: 'mapper-extras', fallback: 'text' },
  wildcard: { module: 'x-pack-wildcard', fallback: 'keyword' },
} as const;
export type OptionalFieldType = keyof typeof OPTIONAL_FIELD_TYPES;

// ECS caps every keyword at 1024 characters: a longer value stays in _source but is not indexed.
const ECS_IGNORE_ABOVE = 1024;

/**
 * The mapping as installed: ECS's `ignore_above` on every keyword (so no
 * template can forget it), and each type the cluster lacks replaced by its
 * fallback.
 */
function adapt(node: unknown, missing: ReadonlySet<OptionalFieldType>): unknown {
  if (Array.isArray(node)) return node.map((n) => adapt(n, missing));
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) out[k] = adapt(v, missing);
  const type = out.type;
  if (typeof type === 'string' && missing.has(type as OptionalFieldType)) out.type = OPTIONAL_FIELD_TYPES[type as OptionalFieldType].fallback;
  if ((out.type === 'keyword' || out.type === 'wildcard') && out.ignore_above === undefined) out.ignore_above = ECS_IGNORE_ABOVE;
  return out;
}

/** The optional field types this cluster cannot map; none when its modules cannot be listed (a hosted cluster has them all). */
export async function missingFieldTypes(client: Client): Promise<Set<OptionalFieldType>> {
  let modules: Set<string>;
  try {
    const info = await client.nodes.info({ metric: 'plugins', filter_path: 'nodes.*.modules.name' });
    modules = new Set(Object.values(info.nodes ?? {}).flatMap((n) => (n.modules ?? []).map((m) => m.name)));
  } catch {
    return new Set();
  }
  return new Set((Object.keys(OPTIONAL_FIELD_TYPES) as OptionalFieldType[]).filter((t) => !modules.has(OPTIONAL_FIELD_TYPES[t].module)));
}

/** `mlmon@mlmon.prediction`: the `@` form follows Elasticsearch's own `logs@mappings` naming. */
export const componentName = (prefix: string, part: string) => `${prefix}@${part}`;
export const indexTemplateName = (prefix: string, family: IndexFamily) => `${prefix}-${family}`;

/** `mlmon@lifecycle.predictions`: attaches a family's ILM policy, installed only where ILM exists. */
export const lifecycleComponentName = (prefix: string, family: IndexFamily) => componentName(prefix, `lifecycle.${family}`);

export function datasetsOf(family: IndexFamily): Dataset[] {
  return (Object.keys(DATASETS) as Dataset[]).filter((d) => DATASETS[d].family === family);
}

function derivedOf(family: IndexFamily): DerivedDocument[] {
  return (Object.keys(DERIVED_DOCUMENTS) as DerivedDocument[]).filter((d) => DERIVED_DOCUMENTS[d].family === family);
}

/** Each kind of document a family holds, by the name of its component template, with its schema. */
export function schemasOf(family: IndexFamily): Array<[name: Dataset | DerivedDocument, schema: z.ZodType]> {
  return [
    ...datasetsOf(family).map((d): [Dataset, z.ZodType] => [d, DATASETS[d].schema]),
    ...derivedOf(family).map((d): [DerivedDocument, z.ZodType] => [d, DERIVED_DOCUMENTS[d].schema]),
  ];
}

/** The component templates a family's index template composes: the shared settings, ECS for log lines, then its documents. */
function partsOf(family: IndexFamily): string[] {
  const derived = derivedOf(family);
  return derived.length > 0 ? ['settings', ...derived] : ['settings', 'ecs-base', ...datasetsOf(family)];
}

export type Desired =
  | { kind: 'component'; name: string; body: ComponentBody }
  | { kind: 'index'; name: string; body: IndexTemplateBody };

/**
 * Every template carries a hash of its own body in `_meta`. Comparing hashes
 * (instead of the bodies Elasticsearch echoes back, which it normalizes) lets
 * setup skip what is already current, so running it twice changes nothing.
 */
function withHash<B extends object>(body: B, meta: estypes.Metadata = {}): B & { _meta: estypes.Metadata } {
  const hash = createHash('sha256').update(JSON.stringify(body)).digest('hex').slice(0, 16);
  return { ...body, _meta: { ...meta, managed_by: 'mlmon', mlmon_hash: hash } };
}

/** `source` is for bench:cost, which installs another commit's templates beside these to compare the two. */
export function desiredTemplates(prefix: string, missing: ReadonlySet<OptionalFieldType> = new Set(), source: ComponentSource = componentFile): Desired[] {
  const components: Desired[] = ['settings', 'ecs-base', ...Object.keys(DATASETS), ...Object.keys(DERIVED_DOCUMENTS)].map((part) => {
    const { _meta, ...body } = source(part);
    return { kind: 'component' as const, name: componentName(prefix, part), body: withHash(adapt(body, missing) as ComponentBody, _meta) };
  });
  const indexTemplates: Desired[] = INDEX_FAMILIES.map((family) => ({
    kind: 'index' as const,
    name: indexTemplateName(prefix, family),
    body: withHash(
      {
        index_patterns: [familyPattern(prefix, family)],
        composed_of: [...partsOf(family).map((part) => componentName(prefix, part)), lifecycleComponentName(prefix, family)],
        // Only a cluster with ILM gets the lifecycle component (setupLifecycle); elsewhere it is skipped.
        ignore_missing_component_templates: [lifecycleComponentName(prefix, family)],
        // Above the built-in logs-*/metrics-* templates (100) of a full distribution.
        priority: 200,
      },
      { description: `mlmon ${family}: ${schemasOf(family).map(([name]) => name).join(', ')}` },
    ),
  }));
  return [...components, ...indexTemplates];
}

export interface SetupReport {
  created: string[];
  updated: string[];
  unchanged: string[];
}

async function currentHash(client: Client, t: Desired): Promise<string | undefined> {
  const res =
    t.kind === 'component'
      ? await client.cluster.getComponentTemplate({ name: t.name }, { ignore: [404] })
      : await client.indices.getIndexTemplate({ name: t.name }, { ignore: [404] });
  const found =
    'component_templates' in res
      ? res.component_templates?.[0]?.component_template
      : 'index_templates' in res
        ? res.index_templates?.[0]?.index_template
        : undefined;
  if (!found) return undefined;
  return String(found._meta?.mlmon_hash ?? 'unmanaged');
}

/**
 * Installs the component templates, then the index templates that compose
 * them. Idempotent. A changed mapping applies to indices created afterwards
 * (tomorrow's daily index); existing indices keep theirs.
 */
export async function setupTemplates(client: Client, opts: { prefix: string }): Promise<SetupReport> {
  const report: SetupReport = { created: [], updated: [], unchanged: [] };
  for (const t of desiredTemplates(opts.prefix, await missingFieldTypes(client))) {
    const existing = await currentHash(client, t);
    const hash = t.body._meta?.mlmon_hash;
    if (existing === hash) {
      report.unchanged.push(t.name);
      continue;
    }
    if (t.kind === 'component') await client.cluster.putComponentTemplate({ name: t.name, ...t.body });
    // As a body: the 8.8 client would send a key its types lack as a query parameter.
    else await client.indices.putIndexTemplate({ name: t.name, body: t.body });
    (existing === undefined ? report.created : report.updated).push(t.name);
  }
  return report;
}

/**
 * Where the cluster has ILM (docker-compose; not the local integ-test
 * distribution), installs each family's delete-after-retention policy and the
 * component that attaches it to new daily indices. Returns false, changing
 * nothing, on a cluster without ILM, where `mlmon retention` does the job.
 */
export async function setupLifecycle(client: Client, opts: { prefix: string }): Promise<boolean> {
  const status = await client.transport.request({ method: 'GET', path: '/_ilm/status' }, { ignore: [400, 404, 405] }).catch(() => undefined);
  if (!status || typeof status !== 'object' || !('operation_mode' in status)) return false;
  for (const { name, policy } of lifecyclePolicies(opts.prefix)) {
    await client.ilm.putLifecycle({ name, policy });
  }
  for (const family of INDEX_FAMILIES) {
    await client.cluster.putComponentTemplate({
      name: lifecycleComponentName(opts.prefix, family),
      template: { settings: { 'index.lifecycle.name': lifecyclePolicyName(opts.prefix, family) } },
      _meta: { managed_by: 'mlmon' },
    });
  }
  return true;
}
