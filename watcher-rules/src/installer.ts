import { createHash } from 'node:crypto';
import type { Client, estypes } from '@elastic/elasticsearch';
import type { LoadedWatch } from './load.js';
import { asPutWatchBody } from './watcher/schema.js';

/** Licenses that include Watcher. */
const WATCHER_LICENSES = new Set(['trial', 'gold', 'platinum', 'enterprise']);

export interface WatcherCheck {
  available: boolean;
  /** Why, in words, for the operator. */
  reason: string;
  license?: string;
}

/**
 * Whether the cluster can run the watches itself: Watcher installed and
 * enabled, and a license that includes it. `GET _xpack` answers both on a
 * full distribution; where its feature report fails (the integration-test
 * distribution lacks the monitoring action it asks), the license is read
 * alone and Watcher's own endpoint tells whether the plugin is there.
 */
export async function checkWatcher(client: Client): Promise<WatcherCheck> {
  let license: estypes.XpackInfoMinimalLicenseInformation | undefined;
  try {
    const info = await client.xpack.info({ categories: ['features', 'license'] });
    license = info.license;
    const w = info.features?.watcher;
    if (!w?.available || !w.enabled) return { available: false, reason: `Watcher is ${!w ? 'not installed' : !w.available ? `not available with the ${license?.type} license` : 'disabled (xpack.watcher.enabled: false)'}`, license: license?.type };
  } catch {
    license = (await client.xpack.info({ categories: ['license'] })).license;
    const probe = await client.transport.request({ method: 'POST', path: '/_watcher/_query/watches', body: { size: 0 } }, { ignore: [400, 404, 405], meta: true });
    if (probe.statusCode !== 200) return { available: false, reason: 'Watcher is not installed on this cluster', license: license?.type };
  }
  if (!license || license.status !== 'active' || !WATCHER_LICENSES.has(license.type)) {
    return { available: false, reason: `the ${license?.type ?? 'unknown'} license (${license?.status ?? 'unknown'}) does not include Watcher`, license: license?.type };
  }
  return { available: true, reason: `Watcher is available (${license.type} license)`, license: license.type };
}

/** Watches are installed as `<prefix>-<id>`, so several deployments can share a cluster. */
export const watcherId = (prefix: string, id: string) => `${prefix}-${id}`;

/** What mlmon writes into an installed watch's metadata to find and compare it later. */
function managedBody(w: LoadedWatch, prefix: string) {
  const body = asPutWatchBody(w.body);
  const hash = createHash('sha256').update(JSON.stringify(body)).digest('hex').slice(0, 16);
  return { ...body, metadata: { ...body.metadata, mlmon_managed: true, mlmon_prefix: prefix, mlmon_rule: w.id, mlmon_hash: hash } };
}

export interface InstallReport {
  created: string[];
  updated: string[];
  unchanged: string[];
  deleted: string[];
}

/** The ids of the watches mlmon installed under this prefix. */
async function installedIds(client: Client, prefix: string): Promise<string[]> {
  const res = await client.watcher.queryWatches({
    size: 1000,
    query: { bool: { filter: [{ term: { 'metadata.mlmon_managed': true } }, { term: { 'metadata.mlmon_prefix': prefix } }] } },
  });
  return (res.watches ?? []).map((w) => w._id);
}

/**
 * Puts every watch into Watcher, skipping those whose body is unchanged (a
 * hash in the metadata, as the index templates do), and deletes mlmon's
 * watches under this prefix that are no longer defined. Running it twice
 * changes nothing.
 */
export async function installWatches(client: Client, watches: LoadedWatch[], prefix: string): Promise<InstallReport> {
  const report: InstallReport = { created: [], updated: [], unchanged: [], deleted: [] };
  const wanted = new Set<string>();
  for (const w of watches) {
    const id = watcherId(prefix, w.id);
    wanted.add(id);
    const body = managedBody(w, prefix);
    const current = await client.watcher.getWatch({ id }, { ignore: [404] });
    if (current.found && (current.watch?.metadata as Record<string, unknown> | undefined)?.mlmon_hash === body.metadata.mlmon_hash) {
      report.unchanged.push(id);
      continue;
    }
    await client.watcher.putWatch({ id, ...body });
    (current.found ? report.updated : report.created).push(id);
  }
  for (const id of await installedIds(client, prefix)) {
    if (wanted.has(id)) continue;
    await client.watcher.deleteWatch({ id });
    report.deleted.push(id);
  }
  return report;
}

export interface WatcherRuleState {
  id: string;
  installed: boolean;
  lastChecked?: string;
  lastMetCondition?: string;
  actions: Record<string, string>;
}

export async function watcherStates(client: Client, watches: LoadedWatch[], prefix: string): Promise<WatcherRuleState[]> {
  const out: WatcherRuleState[] = [];
  for (const w of watches) {
    const res = await client.watcher.getWatch({ id: watcherId(prefix, w.id) }, { ignore: [404] });
    const status = res.status;
    out.push({
      id: w.id,
      installed: res.found,
      ...(status?.last_checked ? { lastChecked: String(status.last_checked) } : {}),
      ...(status?.last_met_condition ? { lastMetCondition: String(status.last_met_condition) } : {}),
      actions: Object.fromEntries(Object.entries(status?.actions ?? {}).map(([id, a]) => [id, a.ack.state])),
    });
  }
  return out;
}
