import { randomBytes } from 'node:crypto';
import net from 'node:net';
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
  // Only the integration project's global setup starts (or names) a cluster; unit tests have none.
  if (!url) throw new Error('testCluster() needs the test cluster of the integration project: name this file *.int.test.ts');
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

export interface EsRelay {
  url: string;
  /** Refuses new connections and cuts the open ones, as a stopped node does. */
  down(): Promise<void>;
  /** Accepts connections again, on the same port. */
  up(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A TCP relay in front of a cluster that a test takes down and brings back:
 * to its clients the node stopped and started again, without the half minute
 * a real node takes to restart, and without touching the cluster other tests
 * use. By hand: a net.Server piping each connection through is all it takes.
 */
export async function esRelay(target: string): Promise<EsRelay> {
  const { hostname, port: targetPort } = new URL(target);
  const sockets = new Set<net.Socket>();
  let server: net.Server | undefined;
  let port = 0;
  const up = () =>
    new Promise<void>((resolve) => {
      server = net.createServer((c) => {
        const s = net.connect(Number(targetPort), hostname);
        sockets.add(c).add(s);
        c.pipe(s).pipe(c);
        const drop = () => {
          c.destroy();
          s.destroy();
          sockets.delete(c);
          sockets.delete(s);
        };
        c.on('error', drop).on('close', drop);
        s.on('error', drop).on('close', drop);
      });
      server.listen(port, '127.0.0.1', () => {
        port = (server!.address() as net.AddressInfo).port;
        resolve();
      });
    });
  const down = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      sockets.clear();
      if (!server?.listening) return resolve();
      server.close(() => resolve());
    });
  await up();
  return { url: `http://127.0.0.1:${port}`, up, down, close: down };
}
