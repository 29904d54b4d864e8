import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EventValidationError, parseEcsLine } from '@mlmon/contract';
import { createEventLog, type EventLog } from '../src/index.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'mlmon-event-log-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let dirs = 0;
function open(batched: boolean, maxBytes = 1e9, maxFiles = 2): EventLog {
  return createEventLog({ service: 'mlmon-test', node: 'n1', dir: path.join(root, `log-${++dirs}`), basename: 'events', maxBytes, maxFiles, batched });
}

const lines = (file: string) => readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
const app = (log: EventLog, message: string) => log.write('mlmon.app', 'info', message, {});

describe.each([
  ['inline', false],
  ["batched per turn", true],
])("an event log writing %s", (_mode, batched) => {
  it('has the line in the file when write() settles', async () => {
    const log = open(batched);
    try {
      for (let i = 0; i < 20; i++) {
        await app(log, `line ${i}`);
        expect(lines(log.file).at(-1)).toContain(`"line ${i}"`);
      }
    } finally {
      await log.close();
    }
  });

  it('keeps every line, in order, through close() when nobody waits for them', async () => {
    const log = open(batched);
    const before = Date.now();
    const written = Array.from({ length: 2000 }, (_, i) => app(log, `line ${i}`));
    await log.close();
    // Each promise resolves (its line was written); a rejection would fail here.
    await Promise.all(written);
    const events = lines(log.file).map((l) => parseEcsLine(l));
    expect(events.map((e) => e.message)).toEqual(written.map((_, i) => `line ${i}`));
    // Stamped when write() was called, not when the line reached the file.
    const stamps = events.map((e) => Date.parse(e['@timestamp']));
    expect(stamps.every((t, i) => t >= before && (i === 0 || t >= stamps[i - 1]!))).toBe(true);
  });

  it('numbers its lines with event.sequence in the order they were written, so lines of one millisecond sort', async () => {
    const log = open(batched);
    await Promise.all(Array.from({ length: 50 }, (_, i) => app(log, `numbered ${i}`)));
    await log.close();
    const events = lines(log.file).map((l) => parseEcsLine(l));
    expect(events.map((e) => e.event.sequence)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  });

  it('writes through writePrevalidated the same line write() writes', async () => {
    const log = open(batched);
    const fields = { mlmon: { prediction: { id: 'p-1' }, feedback: { true_label: 'benign', delay_ms: 5 } } };
    await log.write('mlmon.feedback', 'info', 'feedback', fields);
    await log.writePrevalidated('mlmon.feedback', 'info', 'feedback', fields);
    await log.close();
    const [a, b] = lines(log.file).map((l) => parseEcsLine(l));
    const strip = (e: typeof a) => ({ ...e, '@timestamp': undefined, event: { ...e!.event, sequence: undefined } });
    expect(strip(b)).toEqual(strip(a));
    expect(b!.event.sequence).toBe(a!.event.sequence! + 1);
  });

  it('rotates by size without splitting a line', async () => {
    const log = open(batched, 4096, 50);
    await Promise.all(Array.from({ length: 300 }, (_, i) => app(log, `rotating ${i}`)));
    await log.close();
    const files = readdirSync(path.dirname(log.file));
    expect(files.length).toBeGreaterThan(5);
    const all = files.flatMap((f) => lines(path.join(path.dirname(log.file), f)).map((l) => parseEcsLine(l).message));
    expect(all.sort()).toEqual(Array.from({ length: 300 }, (_, i) => `rotating ${i}`).sort());
  });

  it('refuses a bad event where it is written, and writes nothing for it', async () => {
    const log = open(batched);
    expect(() => log.write('mlmon.feedback', 'info', 'feedback', { mlmon: { prediction: { id: '' }, feedback: { true_label: 'benign', delay_ms: 1 } } })).toThrow(
      EventValidationError,
    );
    await app(log, 'after');
    await log.close();
    expect(lines(log.file).map((l) => parseEcsLine(l).message)).toEqual(['after']);
    expect(() => app(log, 'too late')).toThrow(/closed/);
  });
});

describe("a batched event log whose file cannot be written", () => {
  it('rejects the lines it could not write, and a caller that does not wait is not crashed by them', async () => {
    const log = open(true, 2048, 3);
    await app(log, 'first');
    // The next rotation reopens the file in a directory that is gone.
    rmSync(path.dirname(log.file), { recursive: true, force: true });
    const ignored = Array.from({ length: 50 }, (_, i) => void app(log, `ignored ${i}`));
    const results = await Promise.allSettled(Array.from({ length: 50 }, (_, i) => app(log, `awaited ${i}`)));
    expect(ignored).toHaveLength(50);
    expect(results.some((r) => r.status === 'rejected' && /ENOENT/.test(String(r.reason)))).toBe(true);
    // Once the directory is back, the log carries on in a fresh file.
    mkdirSync(path.dirname(log.file));
    await app(log, 'recovered');
    await log.close();
    expect(lines(log.file).map((l) => parseEcsLine(l).message)).toEqual(['recovered']);
  });
});
