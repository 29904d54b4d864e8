import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { esRelay, testCluster } from '@mlmon/elasticsearch/testing';
import { FakeReplica, count, predictionTally, readNdjson, removeTempDirs, shipperDirs, shipperEnv, startShipper, waitFor, type ShipperProcess } from './support.js';

/**
 * The shipper reaches the cluster through a relay that the test takes down: to the shipper,
 * Elasticsearch stopped (connections refused, open ones cut) and came back, as a restarted node
 * does, while the cluster itself, which other tests share, keeps running.
 */
const cluster = testCluster();
const OUTAGE_MS = 30_000;
const FLUSH_BYTES = 64 * 1024;

interface Status {
  '@timestamp': string;
  event: { dataset: string };
  mlmon?: { resource?: { shipper?: { lines_read: number; retried: number; lag_bytes: number; lag_seconds: number } } };
}

afterAll(async () => {
  await cluster.cleanup();
  removeTempDirs();
});

describe('when Elasticsearch is unreachable for 30 s under traffic', () => {
  it('the shipper stops reading, keeps its memory bounded, resumes by itself, and every prediction lands exactly once', async () => {
    const relay = await esRelay(cluster.url);
    const { client, prefix } = cluster;
    const dirs = shipperDirs('outage');
    mkdirSync(dirs.logs, { recursive: true });
    // Small batches, one in flight: the most the shipper may hold is 2 × 64 KiB, about 230 prediction lines.
    let shipper: ShipperProcess | undefined = await startShipper({
      ...shipperEnv({ url: relay.url, prefix, dirs }),
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
      await relay.down();
      const stoppedAt = Date.now();
      const writtenBefore = api.predictionIds.length;
      console.log(`  Elasticsearch unreachable; ${OUTAGE_MS / 1000} s outage under traffic`);
      // The outage itself: time under traffic with the cluster gone is what is tested.
      await sleep(OUTAGE_MS);
      const restartAt = Date.now();
      const writtenDuring = api.predictionIds.length - writtenBefore;
      await relay.up();
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
      await relay.close();
    }
  }, 180_000);
});
