import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setImmediate as turn } from 'node:timers/promises';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { writeFileAtomic } from '../src/index.js';

const tempDir = () => mkdtempSync(path.join(os.tmpdir(), 'mlmon-atomic-'));

afterEach(() => {
  vi.restoreAllMocks();
});

describe('writeFileAtomic', () => {
  it('never lets a reader see a torn file while large versions replace each other', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'state.json');
    // Several MB each: a plain write takes many chunks, and the reader below runs between them.
    const versions = ['a', 'b', 'c', 'd', 'e'].map((ch) => ch.repeat(4 * 1024 * 1024));
    writeFileSync(file, versions[0]!);
    let writing = true;
    const seen = new Set<string>();
    let reads = 0;
    const reader = (async () => {
      while (writing) {
        const content = readFileSync(file, 'utf8');
        reads += 1;
        expect(versions.includes(content), `a read of ${content.length} bytes starting with "${content[0]}" matches no whole version`).toBe(true);
        seen.add(content[0]!);
        await turn();
      }
    })();
    for (const v of versions.slice(1)) await writeFileAtomic(file, v);
    writing = false;
    await reader;
    expect(readFileSync(file, 'utf8')).toBe(versions.at(-1));
    // The reader ran while the writes were under way, not only before or after them.
    expect(reads).toBeGreaterThan(versions.length);
    expect(seen.size).toBeGreaterThan(1);
    expect(readdirSync(dir)).toEqual(['state.json']);
  });

  it('leaves one whole version when writes to one file overlap in one process', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'state.json');
    const versions = ['x', 'y', 'z'].map((ch) => ch.repeat(4 * 1024 * 1024));
    await Promise.all(versions.map((v) => writeFileAtomic(file, v)));
    expect(versions).toContain(readFileSync(file, 'utf8'));
    expect(readdirSync(dir)).toEqual(['state.json']);
  });

  it('syncs the new content to disk before it takes the target name', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'stack.json');
    writeFileSync(file, 'old');
    // A spy that calls through to the real fsync, recording what the target held at that moment.
    const probe = await open(path.join(dir, 'probe'), 'w');
    const FileHandle = Object.getPrototypeOf(probe) as { sync: () => Promise<void> };
    await probe.close();
    const atSync: string[] = [];
    const realSync = FileHandle.sync;
    vi.spyOn(FileHandle, 'sync').mockImplementation(function (this: unknown) {
      atSync.push(readFileSync(file, 'utf8'));
      return realSync.call(this);
    });
    await writeFileAtomic(file, 'new');
    expect(atSync).toEqual(['old']);
    expect(readFileSync(file, 'utf8')).toBe('new');
  });

  it('gives the file the mode asked for, whatever the umask', async () => {
    const dir = tempDir();
    const saved = process.umask(0o077);
    try {
      await writeFileAtomic(path.join(dir, 'shared.json'), '{}', { mode: 0o644 });
    } finally {
      process.umask(saved);
    }
    expect(statSync(path.join(dir, 'shared.json')).mode & 0o777).toBe(0o644);
  });

  it('fails with the cause when the rename fails, leaving the target and no temporary file behind', async () => {
    const dir = tempDir();
    // A directory cannot be replaced by a file: the rename fails after the temporary file was written.
    const target = path.join(dir, 'taken');
    mkdirSync(target);
    await expect(writeFileAtomic(target, 'data')).rejects.toThrow(/EISDIR|EEXIST|ENOTEMPTY|is a directory/i);
    expect(statSync(target).isDirectory()).toBe(true);
    expect(readdirSync(dir)).toEqual(['taken']);
  });
});
