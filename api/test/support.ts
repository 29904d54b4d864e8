import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseEcsLine, type MlmonEvent } from '@mlmon/contract';
import { loadApiConfig, type ApiConfig } from '../src/config.js';
import { TEST_ADMIN_TOKEN, tempDir } from '../src/testing.js';

export * from '../src/testing.js';

export function testConfig(env: Record<string, string> = {}): ApiConfig {
  return loadApiConfig({ MLMON_LOG_DIR: tempDir('api-logs'), MLMON_API_RESOURCE_INTERVAL: '1h', MLMON_API_ADMIN_TOKEN: TEST_ADMIN_TOKEN, ...env });
}

/** Every line of every NDJSON file in a log directory, parsed and validated; throws on any bad line. */
export function readEvents(dir: string): MlmonEvent[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.ndjson'))
    .flatMap((f) =>
      readFileSync(path.join(dir, f), 'utf8')
        .split('\n')
        .filter((l) => l !== '')
        .map((line) => parseEcsLine(line)),
    );
}

export const ofDataset = <D extends MlmonEvent['event']['dataset']>(events: MlmonEvent[], dataset: D) =>
  events.filter((e) => e.event.dataset === dataset) as Array<Extract<MlmonEvent, { event: { dataset: D } }>>;

