import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { testCluster } from '@mlmon/elasticsearch/testing';
import { createEsClient, freePort, loadEsConfig } from '@mlmon/runtime';
import { BulkWriter, type Doc } from '../src/bulk-writer.js';
import { Cursor } from '../src/cursor.js';
import { DeadLetterFile } from '../src/dead-letter.js';

const cluster = testCluster();
afterAll(cluster.cleanup);

/** A writer over one cursor, with lines of `{"n": i}` at offsets 10·i, and what it reported. */
function writerFor(client = cluster.client, backoffMaxMs = 200) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mlmon-bulk-writer-'));
  const deadLetter = new DeadLetterFile(path.join(dir, 'dead-letter.ndjson'));
  const cursor = new Cursor('stream', Buffer.from('{}'), 0, { path: path.join(dir, 'source.ndjson') });
  const availability: Array<string | undefined> = [];
  const writer = new BulkWriter({
    client,
    flushBytes: 1024 * 1024,
    flushIntervalMs: 20,
    concurrency: 2,
    backoffMaxMs,
    deadLetter,
    onAcknowledged: () => {},
    onAvailability: (problem) => availability.push(problem),
  });
  const add = (index: string, from: number, to: number, line: (i: number) => string = (i) => JSON.stringify({ n: i })) => {
    for (let i = from; i < to; i++) {
      const doc: Doc = { index, id: `doc-${i}`, line: line(i), cursor, offset: i * 10 };
      writer.add(cursor, (i + 1) * 10, Date.now(), doc);
    }
  };
  const deadLettered = () =>
    readFileSync(deadLetter.file, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as { offset: number; reason: string });
  return { writer, cursor, add, availability, deadLettered };
}

const count = async (index: string) => {
  await cluster.client.indices.refresh({ index });
  return (await cluster.client.count({ index })).count;
};

describe('the bulk writer, against the real cluster', () => {
  it('keeps items the cluster refuses with 429 (flood-stage block) and 403 (write block), and lands each once when it accepts again', async () => {
    const { client, prefix } = cluster;
    const index = `${prefix}-blocked`;
    await client.indices.create({ index });
    // Elasticsearch answers 429 per item on an index with the flood-stage block, 403 with a write block.
    await client.indices.putSettings({ index, settings: { 'index.blocks.read_only_allow_delete': true } });
    const { writer, cursor, add, availability } = writerFor();
    add(index, 0, 50);
    await expect.poll(() => writer.retried, { timeout: 10_000 }).toBeGreaterThanOrEqual(50);
    // The 8.8 helper passes a 429 item on without its error body: the status is what is known.
    expect(availability[0]).toMatch(/^429 /);
    await client.indices.putSettings({ index, settings: { 'index.blocks.read_only_allow_delete': null, 'index.blocks.write': true } });
    const retriedBefore = writer.retried;
    await expect.poll(() => writer.retried, { timeout: 10_000 }).toBeGreaterThan(retriedBefore);
    expect(cursor.ackedOffset).toBe(0);

    await client.indices.putSettings({ index, settings: { 'index.blocks.write': null } });
    expect(await writer.close(30_000)).toBe(true);
    expect(cursor.ackedOffset).toBe(500);
    expect(writer.indexed).toBe(50);
    expect(await count(index)).toBe(50);
    expect(availability.at(-1)).toBeUndefined();
  });

  it('keeps items the cluster answers 503 (primary shard not active) and lands each once when the shard is assigned', async () => {
    const { client, prefix } = cluster;
    const index = `${prefix}-unassigned`;
    // A primary that may be allocated nowhere: every item for it fails with 503 unavailable_shards_exception.
    await client.indices.create({ index, wait_for_active_shards: 0, settings: { number_of_replicas: 0, 'index.routing.allocation.require._name': 'no-such-node' } });
    // The cluster waits the bulk's timeout (a minute by default) for the primary before it answers 503; 1 s keeps the test short.
    const impatient = client.child({});
    const bulk = impatient.bulk.bind(impatient);
    impatient.bulk = ((params: Parameters<typeof bulk>[0], options?: Parameters<typeof bulk>[1]) => bulk({ ...params, timeout: '1s' }, options)) as typeof impatient.bulk;
    const { writer, cursor, add, availability } = writerFor(impatient);
    add(index, 0, 20);
    await expect.poll(() => writer.retried, { timeout: 15_000 }).toBeGreaterThanOrEqual(40);
    expect(availability[0]).toMatch(/^503 unavailable_shards_exception: .*primary shard is not active/);
    expect(cursor.ackedOffset).toBe(0);
    expect(writer.indexed).toBe(0);

    await client.indices.putSettings({ index, settings: { 'index.routing.allocation.require._name': null } });
    expect(await writer.close(30_000)).toBe(true);
    expect(cursor.ackedOffset).toBe(200);
    expect(writer.indexed).toBe(20);
    expect(await count(index)).toBe(20);
    expect(availability.at(-1)).toBeUndefined();
  });

  it('dead-letters the items the cluster refuses as malformed (400) and still acknowledges past them', async () => {
    const { client, prefix } = cluster;
    const index = `${prefix}-typed`;
    await client.indices.create({ index, mappings: { properties: { n: { type: 'integer' } } } });
    const { writer, cursor, add, deadLettered } = writerFor();
    add(index, 0, 10, (i) => (i === 3 || i === 7 ? JSON.stringify({ n: 'not a number' }) : JSON.stringify({ n: i })));
    expect(await writer.close(30_000)).toBe(true);
    expect(cursor.ackedOffset).toBe(100);
    expect(writer.indexed).toBe(8);
    expect(await count(index)).toBe(8);
    expect(deadLettered().map((d) => d.offset)).toEqual([30, 70]);
    expect(deadLettered()[0]!.reason).toMatch(/^refused by Elasticsearch: 400 document_parsing_exception/);
  });

  it('resends everything while the cluster is unreachable, and at shutdown gives up without acknowledging anything', async () => {
    const unreachable = createEsClient({ ...loadEsConfig({}), MLMON_ES_URL: `http://127.0.0.1:${await freePort()}` }, { maxRetries: 0, requestTimeout: 1000 });
    const { writer, cursor, add, availability } = writerFor(unreachable, 100);
    add(`${cluster.prefix}-never`, 0, 20);
    await expect.poll(() => writer.retried, { timeout: 10_000 }).toBeGreaterThanOrEqual(40);
    expect(availability[0]).toMatch(/ECONNREFUSED|connect/i);
    const started = Date.now();
    expect(await writer.close(300)).toBe(false);
    // Gave up at the deadline rather than waiting for a cluster that is not coming back.
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(cursor.ackedOffset).toBe(0);
    expect(cursor.hasPending).toBe(true);
    expect(writer.indexed).toBe(0);
    await unreachable.close();
  });
});
