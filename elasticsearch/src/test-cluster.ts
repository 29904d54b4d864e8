import type { TestProject } from 'vitest/node';
import { esConfigShape, esUrl, loadConfig } from '@mlmon/runtime';
import { testConfigShape } from '@mlmon/runtime/testing';
import { startInstance, stopInstance } from './instance.js';

/**
 * vitest global setup: one cluster for the whole run. With MLMON_ES_URL the tests
 * use that cluster and start nothing; otherwise a `test` instance, separate
 * from the `dev` one `mlmon up` runs, starts empty and is stopped afterwards.
 */
export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const config = loadConfig({ ...esConfigShape, MLMON_TEST_ES_PORT: testConfigShape.MLMON_TEST_ES_PORT });
  if (config.MLMON_ES_URL) {
    project.provide('esUrl', esUrl(config));
    return undefined;
  }
  const instance = await startInstance({ name: 'test', port: config.MLMON_TEST_ES_PORT, fresh: true });
  if (!instance.started) {
    throw new Error(
      `a test cluster already runs on ${instance.url}: stop it (it may be left from an interrupted run) or set MLMON_ES_URL=${instance.url} to reuse it`,
    );
  }
  project.provide('esUrl', instance.url);
  return async () => {
    await stopInstance('test');
  };
}
