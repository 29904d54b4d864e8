import { randomBytes } from 'node:crypto';
import type { Client } from '@elastic/elasticsearch';
import { inject } from 'vitest';
import { createEsClient, loadEsConfig } from '@mlmon/runtime';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The cluster of this test run, provided by elasticsearch/src/test-cluster.ts. */
    esUrl: string;
  }
}

/**
 * A client on the run's test cluster and an index prefix no other test uses,
 * so tests can run in parallel and leave nothing behind: `cleanup` deletes
 * every index, index template and component template under the prefix.
 */
export function testCluster(): { client: Client; prefix: string; url: string; cleanup: () => Promise<void> } {
  const url = inject('esUrl');
  const prefix = `t${randomBytes(4).toString('hex')}`;
  const client = createEsClient({ ...loadEsConfig(), MLMON_ES_URL: url }, { name: 'mlmon-test' });
  const cleanup = async () => {
    const indices = Object.keys(await client.indices.get({ index: `${prefix}-*`, expand_wildcards: 'all' }));
    // One name at a time: the cluster refuses wildcard deletes (action.destructive_requires_name).
    if (indices.length) await client.indices.delete({ index: indices.join(',') });
    const templates = await client.indices.getIndexTemplate({ name: `${prefix}-*` }, { ignore: [404] });
    for (const t of templates.index_templates ?? []) await client.indices.deleteIndexTemplate({ name: t.name });
    const components = await client.cluster.getComponentTemplate({ name: `${prefix}@*` }, { ignore: [404] });
    for (const c of components.component_templates ?? []) await client.cluster.deleteComponentTemplate({ name: c.name });
    await client.close();
  };
  return { client, prefix, url, cleanup };
}
