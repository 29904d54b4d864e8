import { describe, expect, it } from 'vitest';
import { EventValidationError, expandDottedKeys, parseEcsLine } from '../src';
import { sampleEvents } from '../src/testing';

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

  it.each([
    ['a half-written line', '{"@timestamp":"2026-11-21T00:00:00Z","log.le', /not JSON/],
    ['a line of another shape', '{"hello":"world"}', /event\.dataset: unknown dataset \(missing\)/],
  ])('says why %s is not an event', (_name, line, reason) => {
    expect(() => parseEcsLine(line)).toThrow(EventValidationError);
    expect(() => parseEcsLine(line)).toThrow(reason);
  });
});
