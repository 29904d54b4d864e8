import { appendFileSync, copyFileSync, mkdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { familyIndex, LOG_BASENAMES, logFile } from '@mlmon/contract';
import { sampleEvents } from '@mlmon/contract/testing';
import { testCluster } from '@mlmon/elasticsearch/testing';
import { MAX_LINE_BYTES } from '../src/shipper.js';
import {
  FakeReplica,
  appTally,
  count,
  predictionTally,
  readNdjson,
  removeTempDirs,
  shipperDirs,
  shipperEnv,
  startShipper,
  traffic,
  waitFor,
  type ShipperDirs,
} from './support.js';

const cluster = testCluster();
const { client, url } = cluster;
const cleanups = [cluster.cleanup];
afterAll(async () => {
  await Promise.all(cleanups.map((c) => c()));
  removeTempDirs();
});

/** Each test ships under a prefix of its own (its own templates too), so counts are its own. */
const setup = (name: string) => {
  const own = testCluster();
  cleanups.push(own.cleanup);
  const dirs = shipperDirs(name);
  mkdirSync(dirs.logs, { recursive: true });
  return { prefix: own.prefix, dirs, env: shipperEnv({ url, prefix: own.prefix, dirs }) };
};

const nginxLine = (i: number) => {
  const e = sampleEvents()['nginx.access'];
  return `${JSON.stringify({ ...e, http: { ...e.http, request: { id: `nginx-${i}`, method: 'POST' } } })}\n`;
};

function checkpointOffsets(dirs: ShipperDirs): Record<string, number> {
  const { streams } = JSON.parse(readFileSync(path.join(dirs.state, 'checkpoints.json'), 'utf8')) as {
    streams: Record<string, { offset: number; path: string }>;
  };
  return Object.fromEntries(Object.values(streams).map((s) => [path.basename(s.path), s.offset]));
}

describe('the log shipper', () => {
  it('routes every dataset to its daily index, dead-letters what cannot be indexed with the reason, ships its own status, and on SIGTERM exits 0 with everything checkpointed', async () => {
    const { prefix, dirs, env } = setup('route');
    const api = new FakeReplica(dirs.logs, 'r1');
    const samples = sampleEvents();
    for (let i = 0; i < 100; i++) api.predict();
    void api.log.write('mlmon.feedback', 'info', 'feedback', { mlmon: samples['mlmon.feedback'].mlmon });
    void api.log.write('mlmon.resource', 'info', 'resource sample', { mlmon: samples['mlmon.resource'].mlmon });
    api.app('started');
    // A garbage line in the middle of the file, then a line Elasticsearch itself refuses: it is valid
    // for the schema, but its day's index was created beforehand with `message` mapped as a number.
    const garbageOffset = statSync(api.log.file).size;
    appendFileSync(api.log.file, 'this is not JSON\n');
    const refusedDay = familyIndex(prefix, 'events', new Date('2020-01-01T00:00:00Z'));
    await client.indices.create({ index: refusedDay, mappings: { properties: { message: { type: 'long' } } } });
    const refusedOffset = statSync(api.log.file).size;
    appendFileSync(api.log.file, `${JSON.stringify({ ...samples['mlmon.app'], '@timestamp': '2020-01-01T12:00:00.000Z' })}\n`);
    // Longer than any line the shipper buffers: skipped up to its newline, the lines after it still shipped.
    const oversizedOffset = statSync(api.log.file).size;
    appendFileSync(api.log.file, `{"message":"${'x'.repeat(MAX_LINE_BYTES + 1000)}"}\n`);
    for (let i = 0; i < 100; i++) api.predict();
    api.app('still here');
    writeFileSync(logFile(dirs.logs, LOG_BASENAMES.nginxAccess), Array.from({ length: 50 }, (_, i) => nginxLine(i)).join(''));

    const shipper = await startShipper(env);
    const predictions = await waitFor('predictions', () => predictionTally(client, prefix, api.predictionIds), (t) => t.indexed >= 200);
    expect(predictions).toEqual({ written: 200, indexed: 200, present: 200, twice: [] });
    expect(await appTally(client, prefix, api.appRequestIds)).toEqual({ written: 2, indexed: 2, present: 2, twice: [] });
    expect(await count(client, `${prefix}-feedback-*`)).toBe(1);
    expect(await count(client, `${prefix}-resources-*`, { term: { 'service.name': 'mlmon-api' } })).toBe(1);
    expect(await count(client, `${prefix}-nginx-*`)).toBe(50);
    expect(await count(client, refusedDay)).toBe(0);
    const today = new Date();
    for (const family of ['predictions', 'feedback', 'resources', 'nginx'] as const) {
      expect(await client.indices.exists({ index: familyIndex(prefix, family, today) })).toBe(true);
    }

    // The shipper's status lines arrive through its own log file, like any other line.
    const status = await waitFor(
      'a shipped status line',
      async () => {
        await client.indices.refresh({ index: `${prefix}-resources-*` });
        const res = await client.search<{ mlmon: { resource: { shipper?: Record<string, number> } } }>({
          index: `${prefix}-resources-*`,
          query: { term: { 'service.name': 'mlmon-log-shipper' } },
          sort: [{ '@timestamp': 'desc' }],
          size: 1,
        });
        return res.hits.hits[0]?._source?.mlmon.resource.shipper;
      },
      (s) => (s?.dead_lettered ?? 0) >= 3 && (s?.indexed ?? 0) >= 255,
    );
    expect(status).toMatchObject({ dead_lettered: 3, retried: 0 });
    expect(status!.lines_read).toBeGreaterThanOrEqual(258);

    shipper.child.kill('SIGTERM');
    expect(await shipper.exited).toBe(0);
    expect(shipper.output()).toMatch(/stopped: everything read is indexed and checkpointed/);
    const offsets = checkpointOffsets(dirs);
    expect(offsets['api-r1.ndjson']).toBe(statSync(api.log.file).size);
    expect(offsets[path.basename(logFile(dirs.logs, LOG_BASENAMES.nginxAccess))]).toBe(statSync(logFile(dirs.logs, LOG_BASENAMES.nginxAccess)).size);

    const dead = readNdjson<{ file: string; offset: number; reason: string; line: string }>(path.join(dirs.state, 'dead-letter.ndjson'));
    dead.sort((a, b) => a.offset - b.offset);
    expect(dead.map((d) => [d.file, d.offset])).toEqual([
      [api.log.file, garbageOffset],
      [api.log.file, refusedOffset],
      [api.log.file, oversizedOffset],
    ]);
    expect(dead[0]).toMatchObject({ line: 'this is not JSON', reason: expect.stringMatching(/^not JSON/) });
    expect(dead[1]!.reason).toMatch(/^refused by Elasticsearch: 400 (document|mapper)_parsing_exception/);
    expect(dead[2]!.reason).toMatch(/line longer than 1048576 bytes/);
    expect(Object.keys(dead[0]!)).toEqual(['@timestamp', 'file', 'offset', 'reason', 'line']);
    await api.log.close();
  });

  it('never ships a half-written last line, ships it once completed, and strips a CRLF ending', async () => {
    const { prefix, dirs, env } = setup('partial');
    const file = logFile(dirs.logs, LOG_BASENAMES.nginxAccess);
    const line = nginxLine(1);
    writeFileSync(file, nginxLine(0) + line.slice(0, 100));
    const shipper = await startShipper(env);
    try {
      expect(await waitFor('the first line', () => count(client, `${prefix}-nginx-*`), (c) => c >= 1)).toBe(1);
      // Not a wait for something to happen: five poll intervals in which the half line must not ship.
      await sleep(1000);
      expect(await count(client, `${prefix}-nginx-*`)).toBe(1);
      appendFileSync(file, line.slice(100));
      expect(await waitFor('the completed line', () => count(client, `${prefix}-nginx-*`), (c) => c >= 2)).toBe(2);
      expect(readFileSync(path.join(dirs.state, 'dead-letter.ndjson'), 'utf8')).toBe('');
      // Lines ended CRLF (a file written on Windows) are taken without the carriage return:
      // the good one ships, the bad one is dead-lettered as written, minus its line ending.
      appendFileSync(file, `${nginxLine(2).replace(/\n$/, '\r\n')}not json\r\n`);
      expect(await waitFor('the CRLF line', () => count(client, `${prefix}-nginx-*`), (c) => c >= 3)).toBe(3);
      const deadLetters = () => readNdjson<{ line: string }>(path.join(dirs.state, 'dead-letter.ndjson'));
      await expect.poll(() => deadLetters().map((d) => d.line)).toEqual(['not json']);
    } finally {
      shipper.child.kill('SIGKILL');
    }
  });

  it('killed with SIGKILL mid-stream and restarted: every prediction and every other line exactly once', async () => {
    const { prefix, dirs, env } = setup('kill');
    const api = new FakeReplica(dirs.logs, 'r1');
    let shipper = await startShipper(env);
    let atKill = -1;
    // Spread over 8 s, so that the kill lands mid-stream even on a loaded machine.
    const writing = traffic(8000, 6000, (i) => (i % 10 === 0 ? api.app(`line ${i}`) : api.predict()));
    await waitFor('some predictions', () => count(client, `${prefix}-predictions-*`), (c) => c >= 500);
    shipper.child.kill('SIGKILL');
    await shipper.exited;
    atKill = await count(client, `${prefix}-predictions-*`);
    // Lines written while no shipper runs: the restarted one must find them from its checkpoint.
    const writtenAtKill = api.predictionIds.length;
    await waitFor('lines written after the kill', async () => api.predictionIds.length, (n) => n >= Math.min(writtenAtKill + 200, 5400));
    shipper = await startShipper(env);
    await writing;
    try {
      const predictions = await waitFor(
        'every prediction',
        () => predictionTally(client, prefix, api.predictionIds),
        (t) => t.indexed >= t.written,
      );
      // Mid-stream: the kill happened with part of the traffic shipped and part not yet written.
      expect(atKill).toBeGreaterThan(0);
      expect(atKill).toBeLessThan(api.predictionIds.length);
      expect(predictions).toEqual({ written: 5400, indexed: 5400, present: 5400, twice: [] });
      const apps = await waitFor('every app line', () => appTally(client, prefix, api.appRequestIds), (t) => t.indexed >= t.written);
      expect(apps).toEqual({ written: 600, indexed: 600, present: 600, twice: [] });
    } finally {
      shipper.child.kill('SIGKILL');
      await api.log.close();
    }
  });

  it('names a file by its content, not its inode: a copy of a shipped file ships nothing again, a new file in a reused inode ships from its start', async () => {
    const { prefix, dirs, env } = setup('inode');
    const first = new FakeReplica(dirs.logs, 'r1');
    for (let i = 0; i < 50; i++) first.app(`first ${i}`);
    await first.log.close();
    let shipper = await startShipper(env);
    expect(await waitFor('the first file', () => appTally(client, prefix, first.appRequestIds), (t) => t.indexed >= 50)).toMatchObject({ indexed: 50 });
    copyFileSync(first.log.file, path.join(dirs.logs, 'api-r1-copy.ndjson'));
    // Found by the next scan (200 ms) and, being the same content, attached at the stream's checkpoint:
    // nothing may ship again, so time passes (seven scans) and the counts must not move.
    await sleep(1500);
    expect(await appTally(client, prefix, first.appRequestIds)).toEqual({ written: 50, indexed: 50, present: 50, twice: [] });
    shipper.child.kill('SIGTERM');
    expect(await shipper.exited).toBe(0);

    // While no shipper holds it open, the file is replaced: ext4 hands the freed inode to the new file,
    // which is longer than the old checkpoint offset. Keyed by inode, its first lines would be skipped.
    const inode = statSync(first.log.file).ino;
    rmSync(first.log.file);
    const second = new FakeReplica(dirs.logs, 'r1');
    for (let i = 0; i < 80; i++) second.app(`second ${i}`);
    await second.log.close();
    console.log(`  replaced file ${statSync(second.log.file).ino === inode ? 'reused' : 'did not reuse'} inode ${inode}`);
    shipper = await startShipper(env);
    try {
      const ids = [...first.appRequestIds, ...second.appRequestIds];
      const apps = await waitFor('both files', () => appTally(client, prefix, ids), (t) => t.indexed >= t.written);
      expect(apps).toEqual({ written: 130, indexed: 130, present: 130, twice: [] });
    } finally {
      shipper.child.kill('SIGKILL');
    }
  });

  it('under traffic, follows rotation by rename and by copytruncate and files that appear later: every line exactly once', async () => {
    const { prefix, dirs, env } = setup('rotate');
    const later = path.join(dirs.root, 'later');
    const shipper = await startShipper({ ...env, MLMON_SHIPPER_GLOBS: `${env.MLMON_SHIPPER_GLOBS},${path.join(later, '*.ndjson')}` });
    // Renamed by its writer every 50 kB: api-renamed.ndjson -> api-renamed.1.ndjson -> .2 ...
    const renamed = new FakeReplica(dirs.logs, 'renamed', { maxBytes: 50_000, maxFiles: 1000 });
    // Copied then truncated in place every 500 lines, as logrotate's copytruncate does (the copy keeps
    // the pattern's extension so the shipper reads the lines it had not reached before the truncation).
    const copied = new FakeReplica(dirs.logs, 'copied');
    let copies = 0;
    const copytruncate = () => {
      copyFileSync(copied.log.file, path.join(dirs.logs, `api-copied-${++copies}.ndjson`));
      truncateSync(copied.log.file, 0);
    };
    let appeared: FakeReplica | undefined;
    const writers = [renamed, copied];
    await traffic(4000, 9000, (i) => {
      if (i === 3000) {
        mkdirSync(later);
        appeared = new FakeReplica(later, 'appeared');
        writers.push(appeared);
      }
      const writer = writers[i % writers.length]!;
      if (i % 7 === 0) writer.app(`line ${i}`);
      else writer.predict();
      if (writer === copied && copied.predictionIds.length % 500 === 0 && i % 7 !== 0) copytruncate();
    });
    try {
      expect(copies).toBeGreaterThanOrEqual(5);
      expect(statSync(path.join(dirs.logs, 'api-renamed.20.ndjson')).isFile()).toBe(true);
      const predictionIds = writers.flatMap((w) => w.predictionIds);
      const appIds = writers.flatMap((w) => w.appRequestIds);
      const predictions = await waitFor('every prediction', () => predictionTally(client, prefix, predictionIds), (t) => t.indexed >= t.written);
      expect(predictions).toEqual({ written: predictionIds.length, indexed: predictionIds.length, present: predictionIds.length, twice: [] });
      const apps = await waitFor('every app line', () => appTally(client, prefix, appIds), (t) => t.indexed >= t.written);
      expect(apps).toEqual({ written: appIds.length, indexed: appIds.length, present: appIds.length, twice: [] });
      expect(appeared!.predictionIds.length).toBeGreaterThan(1000);
      expect(shipper.output()).toMatch(/api-copied\.ndjson was truncated/);
    } finally {
      shipper.child.kill('SIGKILL');
      for (const w of writers) await w.log.close();
    }
  });
});
