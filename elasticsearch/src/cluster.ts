import { createEsClient, esUrl, type EsConfig } from '@mlmon/runtime';
import { startInstance, instanceStatus, stopInstance, type InstanceStatus } from './instance.js';
import { setupTemplates, type SetupReport } from '@mlmon/contract';

/** The instance the local stack uses; tests use their own. */
export const DEV_INSTANCE = 'dev';

/**
 * Makes the cluster ready for mlmon: the local `dev` instance is started unless
 * MLMON_ES_URL names an existing cluster, then the templates are installed. This is
 * the setup job every entry point (es:start, mlmon up) goes through.
 */
export async function ensureCluster(
  config: EsConfig,
  log: (msg: string) => void = console.log,
): Promise<{ url: string; local: boolean; report: SetupReport }> {
  if (!config.MLMON_ES_URL) await startInstance({ name: DEV_INSTANCE, port: config.MLMON_ES_PORT, log });
  const client = createEsClient(config, { name: 'mlmon-setup' });
  try {
    const report = await setupTemplates(client, { prefix: config.MLMON_INDEX_PREFIX });
    return { url: esUrl(config), local: !config.MLMON_ES_URL, report };
  } finally {
    await client.close();
  }
}

export async function stopLocalCluster(log?: (msg: string) => void): Promise<boolean> {
  return stopInstance(DEV_INSTANCE, log ? { log } : {});
}

export async function localClusterStatus(): Promise<InstanceStatus> {
  return instanceStatus(DEV_INSTANCE);
}

export function describeReport(r: SetupReport): string {
  return `templates: ${r.created.length} created, ${r.updated.length} updated, ${r.unchanged.length} unchanged`;
}
