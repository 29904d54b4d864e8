import type { TestProject } from 'vitest/node';
import { esConfigShape, esUrl, loadConfig, portNumber } from '@mlmon/runtime';
import { startInstance, stopInstance } from './instance.js';

/**
 * vitest global setup: one cluster for the whole run. With ES_URL the tests
 * use that cluster and start nothing; otherwise a `test` instance, separate
 * from the `dev` one `mlmon up` runs, starts empty and is stopped afterwards.
 */
export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const config = loadConfig({ ...esConfigShape, ES_TEST_PORT: portNumber.default(9201) });
  if (config.ES_URL) {
    project.provide('esUrl', esUrl(config));
    return undefined;
  }
  const instance = await startInstance({ name: 'test', port: config.ES_TEST_PORT, fresh: true });
  if (!instance.started) {
    throw new Error(
      `a test cluster already runs on ${instance.url}: stop it (it may be left from an interrupted run) or set ES_URL=${instance.url} to reuse it`,
    );
  }
  project.provide('esUrl', instance.url);
  return async () => {
    await stopInstance('test');
  };
}
