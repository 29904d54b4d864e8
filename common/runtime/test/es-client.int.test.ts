import { describe, expect, inject, it } from 'vitest';
import { createEsClient, freePort } from '../src/index.js';

describe('createEsClient over several nodes', () => {
  it('retries a request on the next node when one is down, so every request succeeds', async () => {
    // The run's cluster (vitest's global setup; the key is typed in @mlmon/elasticsearch/testing, which
    // this package may not depend on), after a port nothing listens on.
    const live = (inject as (key: string) => string)('esUrl');
    const down = `http://127.0.0.1:${await freePort()}`;
    const client = createEsClient({ MLMON_ES_URL: [down, live], MLMON_ES_PORT: 9200 }, { name: 'mlmon-test' });
    const attempts: number[] = [];
    client.diagnostic.on('response', (_err, result) => attempts.push(result?.meta.attempts ?? -1));
    try {
      for (let i = 0; i < 4; i++) expect((await client.info()).version.number).toMatch(/^8\./);
      // At least one of them went to the node that is down first and was answered by the other.
      expect(Math.max(...attempts)).toBeGreaterThanOrEqual(1);
    } finally {
      await client.close();
    }
  });
});
