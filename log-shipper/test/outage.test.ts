import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { createEsClient, freePort, loadEsConfig } from '@mlmon/runtime';
import { ES_DIST_DIR, startInstance, stopInstance } from '@mlmon/elasticsearch';
import { FakeReplica, count, predictionTally, readNdjson, removeTempDirs, shipperDirs, shipperEnv, startShipper, waitFor, type ShipperProcess } from './support.js';

/**
 * An instance of its own: the test stops it, and must not stop the cluster other tests use. Named
 * per run, because two test runs on one machine (two engineers, two CI jobs) must not stop each
 * other's instance; its directory (instances/<name> beside the distribution) goes with the run.
 */
const INSTANCE = `shipper-fault-${randomBytes(3).toString('hex')}`;
const OUTAGE_MS = 30_000;
const FLUSH_BYTES = 64 * 1024;


interface Status {
  '@timestamp': string;
  event: { dataset: string };
  mlmon?: { resource?: { shipper?: { lines_read: number; retried: number; lag_bytes: number; lag_seconds: number } } };
}

afterAll(async () => {
  await stopInstance(INSTANCE);
  rmSync(path.join(path.dirname(ES_DIST_DIR), 'instances', INSTANCE), { recursive: true, force: true });
  removeTempDirs();
});

describe('when Elasticsearch stops for 30 s under traffic', () => {
  it('the shipper stops reading, keeps its memory bounded, resumes by itself, and every prediction lands exactly once', async () => {
    const port = await freePort();
    await startInstance({ name: INSTANCE, port, fresh: true });
    const url = `http://127.0.0.1:${port}`;
    const client = createEsClient({ ...loadEsConfig(), MLMON_ES_URL: url }, { name: 'mlmon-test' });
    const prefix = 'outage';
    const dirs = shipperDirs('outage');
    mkdirSync(dirs.logs, { recursive: true });
    // Small batches, one in flight: the most the shipper may hold is 2 × 64 KiB, about 230 prediction lines.
    let shipper: ShipperProcess | undefined = await startShipper({
      ...shipperEnv({ url, prefix, dirs }),
      MLMON_SHIPPER_FLUSH_BYTES: String(FLUSH_BYTES),
      MLMON_SHIPPER_CONCURRENCY: '1',
      MLMON_SHIPPER_BACKOFF_MAX: '2s',
    });
    const api = new FakeReplica(dirs.logs, 'r1');
    let writing = true;
    // 200 predictions/s for the whole test, outage included.
    const traffic = (async () => {
      while (writing) {
        for (let i = 0; i < 10; i++) api.predict();
        await sleep(50);
      }
    })();
    try {
      await waitFor('traffic to flow', () => count(client, `${prefix}-predictions-*`), (c) => c >= 500);
      await stopInstance(INSTANCE);
      const stoppedAt = Date.now();
      const writtenBefore = api.predictionIds.length;
      console.log(`  Elasticsearch stopped; ${OUTAGE_MS / 1000} s outage under traffic`);
      await sleep(OUTAGE_MS);
      const restartAt = Date.now();
      const writtenDuring = api.predictionIds.length - writtenBefore;
      await startInstance({ name: INSTANCE, port });
      writing = false;
      await traffic;

      const predictions = await waitFor('every prediction', () => predictionTally(client, prefix, api.predictionIds), (t) => t.indexed >= t.written, 60_000);
      expect(writtenDuring).toBeGreaterThan(5000);
      expect(predictions).toEqual({ written: predictions.written, indexed: predictions.written, present: predictions.written, twice: [] });

      // What the shipper said about itself, read from its own log file (it was on disk throughout).
      const statuses = () =>
        readNdjson<Status>(path.join(dirs.own, 'log-shipper.ndjson')).flatMap((s) =>
          s.mlmon?.resource?.shipper ? [{ at: Date.parse(s['@timestamp']), ...s.mlmon.resource.shipper }] : [],
        );
      const during = statuses().filter((s) => s.at > stoppedAt + 3000 && s.at < restartAt);
      expect(during.length).toBeGreaterThan(20);
      // It stopped reading: of the ~6,000 lines written during the outage it read at most its buffer's worth.
      expect(during.at(-1)!.lines_read - during[0]!.lines_read).toBeLessThan(300);
      expect(during.at(-1)!.lag_seconds).toBeGreaterThan(25);
      expect(during.at(-1)!.lag_bytes).toBeGreaterThan(2_000_000);
      expect(during.at(-1)!.retried).toBeGreaterThan(0);
      // And it caught up by itself: a status line after the restart with nothing left behind.
      const caughtUp = await waitFor('a status line with no lag', async () => statuses().at(-1)!, (s) => s.lag_bytes === 0, 20_000);
      expect(caughtUp).toMatchObject({ lag_bytes: 0, lag_seconds: 0 });
      expect(shipper.output()).toMatch(/Elasticsearch is not accepting/);
      expect(shipper.output()).toMatch(/Elasticsearch accepts again after/);
    } finally {
      writing = false;
      shipper?.child.kill('SIGKILL');
      shipper = undefined;
      await api.log.close();
      await client.close();
    }
  }, 180_000);
});
