import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Client, estypes } from '@elastic/elasticsearch';
import { DATASETS, INDEX_FAMILIES, type Dataset, type IndexFamily } from './events/index.js';
import { familyPattern } from './indices.js';

type ComponentBody = Omit<estypes.ClusterPutComponentTemplateRequest, 'name'>;
type IndexTemplateBody = Omit<estypes.IndicesPutIndexTemplateRequest, 'name'>;

const componentFile = (name: string) =>
  JSON.parse(readFileSync(new URL(`../templates/components/${name}.json`, import.meta.url), 'utf8')) as ComponentBody;

/** `mlmon@mlmon.prediction`: the `@` form follows Elasticsearch's own `logs@mappings` naming. */
export const componentName = (prefix: string, part: string) => `${prefix}@${part}`;
export const indexTemplateName = (prefix: string, family: IndexFamily) => `${prefix}-${family}`;

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
        composed_of: [...shared, ...datasetsOf(family)].map((part) => componentName(prefix, part)),
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
    else await client.indices.putIndexTemplate({ name: t.name, ...t.body });
    (existing === undefined ? report.created : report.updated).push(t.name);
  }
  return report;
}
