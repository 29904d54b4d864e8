import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Client, estypes } from '@elastic/elasticsearch';
import { DATASETS, INDEX_FAMILIES, type Dataset, type IndexFamily } from './events/index.js';
import { familyPattern } from './indices.js';
import { lifecyclePolicies, lifecyclePolicyName } from './retention.js';

type ComponentBody = Omit<estypes.ClusterPutComponentTemplateRequest, 'name'>;
// The 8.8 client's types predate ignore_missing_component_templates, which the 8.8 server accepts.
type IndexTemplateBody = Omit<estypes.IndicesPutIndexTemplateRequest, 'name'> & { ignore_missing_component_templates?: string[] };

const componentFile = (name: string) =>
  JSON.parse(readFileSync(new URL(`../templates/components/${name}.json`, import.meta.url), 'utf8')) as ComponentBody;

/** `mlmon@mlmon.prediction`: the `@` form follows Elasticsearch's own `logs@mappings` naming. */
export const componentName = (prefix: string, part: string) => `${prefix}@${part}`;
export const indexTemplateName = (prefix: string, family: IndexFamily) => `${prefix}-${family}`;

/** `mlmon@lifecycle.predictions`: attaches a family's ILM policy, installed only where ILM exists. */
export const lifecycleComponentName = (prefix: string, family: IndexFamily) => componentName(prefix, `lifecycle.${family}`);

export function datasetsOf(family: IndexFamily): Dataset[] {
  return (Object.keys(DATASETS) as Dataset[]).filter((d) => DATASETS[d].family === family);
}

type Desired =
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

export function desiredTemplates(prefix: string): Desired[] {
  const shared = ['settings', 'ecs-base'];
  const components: Desired[] = [...shared, ...Object.keys(DATASETS)].map((part) => {
    const { _meta, ...body } = componentFile(part);
    return { kind: 'component' as const, name: componentName(prefix, part), body: withHash(body, _meta) };
  });
  const indexTemplates: Desired[] = INDEX_FAMILIES.map((family) => ({
    kind: 'index' as const,
    name: indexTemplateName(prefix, family),
    body: withHash(
      {
        index_patterns: [familyPattern(prefix, family)],
        composed_of: [...[...shared, ...datasetsOf(family)].map((part) => componentName(prefix, part)), lifecycleComponentName(prefix, family)],
        // Only a cluster with ILM gets the lifecycle component (setupLifecycle); elsewhere it is skipped.
        ignore_missing_component_templates: [lifecycleComponentName(prefix, family)],
        // Above the built-in logs-*/metrics-* templates (100) of a full distribution.
        priority: 200,
      },
      { description: `mlmon ${family}: ${datasetsOf(family).join(', ')}` },
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
  for (const t of desiredTemplates(opts.prefix)) {
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
