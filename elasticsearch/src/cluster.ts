import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { createEsClient, esUrl, freePortBlock, loadConfig, writeFileAtomic, type EsConfig } from '@mlmon/runtime';
import { setupTemplates, type SetupReport } from '@mlmon/contract';
import { launcherConfigShape } from './config.js';
import { startInstance, instanceStatus, stopInstance, type InstanceStatus } from './instance.js';
import { RUNTIME_DIR } from './paths.js';

/** The local cluster the stack uses (`dev` unless MLMON_ES_LOCAL_NAME says otherwise); the test run has its own. */
export const localName = () => loadConfig({ MLMON_ES_LOCAL_NAME: launcherConfigShape.MLMON_ES_LOCAL_NAME }).MLMON_ES_LOCAL_NAME;

/** The roles of a node that can be elected master and holds data: every node of `mlmon up --es-nodes N`. */
export const MASTER_DATA: readonly string[] = ['master', 'data'];

/** A local cluster of several nodes, as its manifest records it. */
export interface LocalCluster {
  name: string;
  nodes: Array<{ instance: string; port: number; transportPort: number; roles: string[] }>;
}

const manifestFile = (name: string) => path.join(RUNTIME_DIR, 'clusters', `${name}.json`);

export function readLocalCluster(name: string): LocalCluster | undefined {
  const file = manifestFile(name);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as LocalCluster) : undefined;
}

const urlsOf = (c: LocalCluster) => c.nodes.map((n) => `http://127.0.0.1:${n.port}`);

/**
 * Starts a cluster of `ports.length` nodes on 127.0.0.1, node i (named
 * `<name>-<i+1>`) on HTTP port `ports[i]` with `roles[i]` (default: every node
 * master-eligible and holding data), each an instance of its own (data path,
 * logs, heap). The nodes find each other by their transport ports, which are
 * picked free on the first start and kept in the cluster's manifest. All nodes
 * start at once: none is ready before a quorum of master-eligible nodes has
 * formed the cluster.
 */
export async function startCluster(o: {
  name: string;
  ports: readonly number[];
  roles?: ReadonlyArray<readonly string[]>;
  heap?: string;
  fresh?: boolean;
  log?: (msg: string) => void;
}): Promise<LocalCluster & { started: boolean }> {
  const known = o.fresh ? undefined : readLocalCluster(o.name);
  const transport = known?.nodes.length === o.ports.length ? known.nodes.map((n) => n.transportPort) : await transportPorts(o.ports.length);
  const cluster: LocalCluster = {
    name: o.name,
    nodes: o.ports.map((port, i) => ({ instance: `${o.name}-${i + 1}`, port, transportPort: transport[i]!, roles: [...(o.roles?.[i] ?? MASTER_DATA)] })),
  };
  await writeManifest(cluster);
  const results = await Promise.allSettled(cluster.nodes.map((_, i) => startClusterNode(cluster, i, { ...(o.heap ? { heap: o.heap } : {}), ...(o.fresh ? { fresh: true } : {}), ...(o.log ? { log: o.log } : {}) })));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await stopCluster(o.name, { log: () => {} });
    throw failed.reason;
  }
  return { ...cluster, started: results.some((r) => r.status === 'fulfilled' && r.value.started) };
}

/** Transport ports: a free block, so that nothing on the machine already listens there. */
async function transportPorts(n: number): Promise<number[]> {
  const base = await freePortBlock(n);
  return Array.from({ length: n }, (_, i) => base + i);
}

async function writeManifest(c: LocalCluster): Promise<void> {
  await mkdir(path.dirname(manifestFile(c.name)), { recursive: true });
  await writeFileAtomic(manifestFile(c.name), JSON.stringify(c, null, 2));
}

/**
 * Starts node `index` of a cluster that already has a manifest: the other
 * nodes keep running. `roles` changes the node's roles from now on (a node
 * that was killed may come back master-eligible).
 */
export async function startClusterNode(
  cluster: LocalCluster,
  index: number,
  o: { heap?: string; fresh?: boolean; roles?: readonly string[]; readyTimeoutMs?: number; log?: (msg: string) => void } = {},
): Promise<InstanceStatus & { started: boolean }> {
  const node = cluster.nodes[index]!;
  if (o.roles) {
    node.roles = [...o.roles];
    await writeManifest(cluster);
  }
  return startInstance({
    name: node.instance,
    port: node.port,
    ...(o.fresh ? { fresh: true } : {}),
    ...(o.heap ? { heap: o.heap } : {}),
    ...(o.readyTimeoutMs ? { readyTimeoutMs: o.readyTimeoutMs } : {}),
    ...(o.log ? { log: o.log } : {}),
    member: {
      cluster: cluster.name,
      roles: node.roles,
      transportPort: node.transportPort,
      seedPorts: cluster.nodes.map((n) => n.transportPort),
      initialMasterNodes: cluster.nodes.filter((n) => n.roles.includes('master')).map((n) => n.instance),
    },
  });
}

/** Stops every node of the cluster at once (one by one, each stop would make the rest elect a new master). */
export async function stopCluster(name: string, opts: { log?: (msg: string) => void } = {}): Promise<boolean> {
  const cluster = readLocalCluster(name);
  if (!cluster) return false;
  const stopped = await Promise.all(cluster.nodes.map((n) => stopInstance(n.instance, opts)));
  return stopped.some(Boolean);
}

/** A node as `mlmon status` shows it: the instance and, when the cluster answers, what the cluster says of it. */
export interface NodeStatus extends InstanceStatus {
  roles?: string;
  master?: boolean;
}

export interface ClusterStatus {
  nodes: NodeStatus[];
  /** The cluster's health as any live node reports it; undefined when no node answers. */
  health?: string;
}

/** The local cluster: one instance, or the nodes of the cluster `mlmon up --es-nodes N` started. */
export async function localClusterStatus(name = localName()): Promise<ClusterStatus> {
  const cluster = readLocalCluster(name);
  const nodes = cluster ? await Promise.all(cluster.nodes.map((n) => instanceStatus(n.instance, n.port))) : [];
  if (!nodes.some((n) => n.running)) {
    const single = await instanceStatus(name);
    return single.running ? { nodes: [single], ...(single.health ? { health: single.health } : {}) } : { nodes };
  }
  const live = nodes.filter((n) => n.running).map((n) => n.url);
  const client = createEsClient({ MLMON_ES_URL: live, MLMON_ES_PORT: 9200 }, { name: 'mlmon-status', requestTimeout: 3000, maxRetries: live.length });
  try {
    const [health, cat] = await Promise.all([client.cluster.health(), client.cat.nodes({ format: 'json', h: 'name,node.role,master' })]);
    const byName = new Map(cat.map((n) => [n.name, n]));
    return {
      health: health.status,
      nodes: nodes.map((n, i) => {
        const info = byName.get(cluster!.nodes[i]!.instance);
        return info ? { ...n, roles: info['node.role'] ?? '', master: info.master === '*' } : n;
      }),
    };
  } catch {
    return { nodes, health: 'unreachable' };
  } finally {
    await client.close();
  }
}

/**
 * The HTTP ports of a local cluster of `n` nodes: node 1 on MLMON_ES_PORT, the
 * others 10 apart (9200, 9210, 9220), so that the test run's cluster (9201)
 * still fits beside it.
 */
export const localPorts = (port: number, n: number) => Array.from({ length: n }, (_, i) => port + 10 * i);

/**
 * Makes the cluster ready for mlmon: the local cluster (one node, `dev`, or
 * `nodes` of them) is started unless MLMON_ES_URL names an existing cluster,
 * then the templates are installed. This is the setup job every entry point
 * (es:start, mlmon up) goes through. `urls` are the nodes a service is given.
 */
export async function ensureCluster(
  config: EsConfig,
  log: (msg: string) => void = console.log,
  opts: { nodes?: number } = {},
): Promise<{ url: string; urls: string[]; local: boolean; report: SetupReport }> {
  let urls: string[] | undefined;
  if (!config.MLMON_ES_URL) urls = await startLocal(config.MLMON_ES_PORT, opts.nodes ?? 1, log);
  const connection = urls ? { ...config, MLMON_ES_URL: urls } : config;
  const client = createEsClient(connection, { name: 'mlmon-setup' });
  try {
    const report = await setupTemplates(client, { prefix: config.MLMON_INDEX_PREFIX });
    return { url: esUrl(connection), urls: urls ?? [...(config.MLMON_ES_URL ?? [])], local: !config.MLMON_ES_URL, report };
  } finally {
    await client.close();
  }
}

async function startLocal(port: number, nodes: number, log: (msg: string) => void): Promise<string[]> {
  // A cluster with one of its nodes down is the same cluster: starting it again starts that node.
  const running = await localClusterStatus();
  const size = running.nodes.some((n) => n.running) ? running.nodes.length : 0;
  if (size > 0 && size !== nodes) {
    throw new Error(`the local cluster has ${size} node${size > 1 ? 's' : ''}: stop it first (npm run mlmon -- down) to start it with ${nodes}`);
  }
  if (nodes === 1) {
    await startInstance({ name: localName(), port, log });
    return [`http://127.0.0.1:${port}`];
  }
  // Half a gigabyte each: three nodes beside the stack on a laptop.
  return urlsOf(await startCluster({ name: localName(), ports: localPorts(port, nodes), heap: '512m', log }));
}

/** Stops the local cluster, whichever size it runs with. */
export async function stopLocalCluster(log?: (msg: string) => void): Promise<boolean> {
  const opts = log ? { log } : {};
  const multi = await stopCluster(localName(), opts);
  return (await stopInstance(localName(), opts)) || multi;
}

export function describeReport(r: SetupReport): string {
  return `templates: ${r.created.length} created, ${r.updated.length} updated, ${r.unchanged.length} unchanged`;
}
