import { existsSync, mkdirSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Checkpoints } from '../src/checkpoint.js';
import { loadShipperConfig } from '../src/config.js';
import { Cursor } from '../src/cursor.js';
import { matchFiles } from '../src/discover.js';
import { TailedFile, fingerprint } from '../src/tail.js';
import { removeTempDirs, tempDir } from './support.js';

afterAll(removeTempDirs);

describe('file patterns', () => {
  it('match file names with * and ?, in directories that may not exist yet, each file once', async () => {
    const dir = tempDir('globs');
    for (const name of ['api-r1.ndjson', 'api-r1.1.ndjson', 'nginx-access.ndjson', 'nginx-error.log', 'a.ndjson.tmp', 'api-x.ndjson']) {
      writeFileSync(path.join(dir, name), '');
    }
    const found = await matchFiles([path.join(dir, '*.ndjson'), path.join(dir, 'api-?1*.ndjson'), path.join(dir, 'missing', '*.ndjson')], new Set([path.join(dir, 'api-x.ndjson')]));
    expect(found.map((f) => path.basename(f))).toEqual(['api-r1.1.ndjson', 'api-r1.ndjson', 'nginx-access.ndjson']);
  });

  it('are refused at start with wildcards in a directory, and split on commas', () => {
    expect(() => loadShipperConfig({ MLMON_SHIPPER_GLOBS: '/var/log/*/x.ndjson' })).toThrow(/MLMON_SHIPPER_GLOBS wildcards are allowed in the file name only/);
    expect(loadShipperConfig({ MLMON_SHIPPER_GLOBS: '/a/*.ndjson, /b/x.ndjson' }).MLMON_SHIPPER_GLOBS).toEqual(['/a/*.ndjson', '/b/x.ndjson']);
  });
});

describe('a tailed file', () => {
  it('has no fingerprint until its first line is complete, then keeps it across a rename', async () => {
    const dir = tempDir('tail');
    const file = path.join(dir, 'a.ndjson');
    writeFileSync(file, '{"first":');
    const tailed = (await TailedFile.open(file))!;
    tailed.size = 9;
    expect(await tailed.firstLine()).toBeUndefined();
    writeFileSync(file, '{"first":1}\n{"second":2}\n');
    tailed.size = 25;
    const first = (await tailed.firstLine())!;
    expect(first.toString()).toBe('{"first":1}\n');
    renameSync(file, path.join(dir, 'a.1.ndjson'));
    expect(await tailed.startsWith(first)).toBe(true);
    writeFileSync(path.join(dir, 'a.1.ndjson'), '{"other":1}\n');
    expect(await tailed.startsWith(first)).toBe(false);
    expect(fingerprint(first)).toMatch(/^[A-Za-z0-9_-]{16}$/);
    expect(fingerprint(first)).not.toBe(fingerprint(Buffer.from('{"other":1}\n')));
    await tailed.handle.close();
  });
});

describe('acknowledgement', () => {
  it('moves the checkpointable offset only over a prefix of acknowledged batches', () => {
    const cursor = new Cursor('s', Buffer.from('x\n'), 0, { path: 'f' });
    const a = cursor.openSegment(100, 1);
    const b = cursor.openSegment(200, 2);
    const c = cursor.openSegment(300, 3);
    b.done = true;
    expect(cursor.settle()).toBe(false);
    expect(cursor.ackedOffset).toBe(0);
    expect(cursor.oldestPending).toBe(1);
    a.done = true;
    expect(cursor.settle()).toBe(true);
    expect(cursor.ackedOffset).toBe(200);
    expect(cursor.oldestPending).toBe(3);
    c.done = true;
    cursor.settle();
    expect(cursor.ackedOffset).toBe(300);
    expect(cursor.hasPending).toBe(false);
  });
});

describe('checkpoints', () => {
  it('are written whole by rename, keep the furthest offset per stream, and survive a reload', async () => {
    const dir = tempDir('checkpoints');
    const file = path.join(dir, 'state', 'checkpoints.json');
    const checkpoints = await Checkpoints.load(file);
    checkpoints.advance('s1', 100, '/logs/a.ndjson');
    checkpoints.advance('s1', 50, '/logs/a-copy.ndjson');
    checkpoints.advance('s2', 7, '/logs/b.ndjson');
    await checkpoints.save(new Set(['s1', 's2']));
    expect(readdirSync(path.dirname(file))).toEqual(['checkpoints.json']);
    const reloaded = await Checkpoints.load(file);
    expect(reloaded.offset('s1')).toBe(100);
    expect(reloaded.offset('s2')).toBe(7);
    expect(reloaded.offset('s3')).toBeUndefined();
  });

  it('refuse a file that is not theirs rather than start over from zero', async () => {
    const dir = tempDir('checkpoints-bad');
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'checkpoints.json');
    writeFileSync(file, JSON.stringify({ version: 1, streams: { s: { offset: -1, path: 'x', updated: 'y' } } }));
    await expect(Checkpoints.load(file)).rejects.toThrow(/checkpoint file .* is not valid/);
    expect(existsSync(file)).toBe(true);
  });
});
