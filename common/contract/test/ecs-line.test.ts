import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createEventLog, type EventFields } from '@mlmon/runtime';
import { DATASETS, EventValidationError, expandDottedKeys, parseEcsLine, validateEvent, type Dataset } from '../src/index.js';
import { sampleEvents } from '../src/testing.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'mlmon-ecs-line-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The full expansion parseEcsLine's fast path must agree with: same event, or the same error. */
function reference(line: string): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch (err) {
    throw new EventValidationError(`not JSON: ${(err as Error).message}`, undefined, []);
  }
  return validateEvent(expandDottedKeys(parsed));
}

function outcome(parse: (line: string) => unknown, line: string): unknown {
  try {
    return { event: parse(line) };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

/** Every dataset's sample as the ECS formatter writes it (dotted `log.level`, `ecs.version`). */
function formattedSamples(): string[] {
  const log = createEventLog({ service: 'mlmon-test', node: 'n1', dir, basename: 'samples', maxBytes: 1e9, maxFiles: 2 });
  for (const [dataset, sample] of Object.entries(sampleEvents()) as Array<[Dataset, Record<string, unknown>]>) {
    const { '@timestamp': _t, log: _l, ecs: _e, message, service: _s, host: _h, process: _p, event, ...fields } = sample;
    const { dataset: _d, kind: _k, ...eventFields } = event as Record<string, unknown>;
    void log.write(dataset, 'info', String(message), { ...fields, event: eventFields } as EventFields<typeof dataset>);
  }
  void log.close();
  return readFileSync(log.file, 'utf8').split('\n').filter((l) => l !== '');
}

describe('ECS lines', () => {
  it('expands dotted keys the way Elasticsearch reads them, merging with nested siblings', () => {
    expect(expandDottedKeys({ '@timestamp': 't', 'log.level': 'info', 'ecs.version': '8.10.0', log: { logger: 'x' }, a: [{ 'b.c': 1 }] })).toEqual({
      '@timestamp': 't',
      log: { level: 'info', logger: 'x' },
      ecs: { version: '8.10.0' },
      a: [{ b: { c: 1 } }],
    });
  });

  it('parses a line as ecs-winston-format writes it', () => {
    const { log, ecs, ...rest } = sampleEvents()['mlmon.feedback'];
    const line = JSON.stringify({ ...rest, 'log.level': log.level, 'ecs.version': ecs.version });
    expect(parseEcsLine(line)).toMatchObject({ log: { level: 'info' }, event: { dataset: 'mlmon.feedback' } });
  });

  it('parses exactly as a full dotted-key expansion does, on every dataset and on the shapes its fast path hands back', () => {
    const samples = formattedSamples();
    expect(samples).toHaveLength(Object.keys(DATASETS).length);
    expect(samples.every((l) => l.includes('"log.level"'))).toBe(true);
    const [prediction] = samples.filter((l) => l.includes('"mlmon.prediction"'));
    const base = JSON.parse(prediction!) as Record<string, unknown>;
    const variants = [
      ...samples,
      ...Object.values(sampleEvents()).map((e) => JSON.stringify(e)),
      'not json',
      '[1, 2]',
      '"a string"',
      '{}',
      JSON.stringify({ ...base, log: 'x' }),
      JSON.stringify({ log: 'x', ...base }),
      JSON.stringify({ ...base, log: { logger: 'app' } }),
      JSON.stringify({ ...base, log: { level: 'error' } }),
      JSON.stringify({ ...base, 'log.level.x': 'info' }),
      JSON.stringify({ ...base, 'service.node': { name: 'other' } }),
      JSON.stringify({ ...base, 'mlmon.extra': 1 }),
      JSON.stringify({ ...base, mlmon: { ...(base.mlmon as object), 'prediction.id': 'x' } }),
      JSON.stringify({ ...base, tags: [{ 'a.b': 1 }] }),
      JSON.stringify({ ...base, 'a..b': 1, '@timestamp.x': 2 }),
    ];
    for (const line of variants) expect(outcome(parseEcsLine, line), line).toEqual(outcome(reference, line));
  });

  it.each([
    ['a half-written line', '{"@timestamp":"2026-11-21T00:00:00Z","log.le', /not JSON/],
    ['a line of another shape', '{"hello":"world"}', /event\.dataset: unknown dataset \(missing\)/],
  ])('says why %s is not an event', (_name, line, reason) => {
    expect(() => parseEcsLine(line)).toThrow(EventValidationError);
    expect(() => parseEcsLine(line)).toThrow(reason);
  });
});
