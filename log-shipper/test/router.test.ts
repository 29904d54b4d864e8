import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { DATASETS, createEventLog, parseEcsLine, type Dataset, type EventFields } from '@mlmon/common';
import { sampleEvents } from '@mlmon/common/testing';
import { parseLine, routeLine } from '../src/router';
import { removeTempDirs, tempDir } from './support';

afterAll(removeTempDirs);

/** parseLine must decide exactly as parseEcsLine: same event, or the same error. */
function outcome(parse: (line: string) => unknown, line: string): unknown {
  try {
    return { event: parse(line) };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

/** Every dataset's sample as the ECS formatter writes it (dotted `log.level`, `ecs.version`). */
function formattedSamples(): string[] {
  const log = createEventLog({ service: 'mlmon-test', node: 'n1', dir: tempDir('router'), basename: 'samples', maxBytes: 1e9, maxFiles: 2 });
  for (const [dataset, sample] of Object.entries(sampleEvents()) as Array<[Dataset, Record<string, unknown>]>) {
    const { '@timestamp': _t, log: _l, ecs: _e, message, service: _s, host: _h, process: _p, event, ...fields } = sample;
    const { dataset: _d, kind: _k, ...eventFields } = event as Record<string, unknown>;
    log.write(dataset, 'info', String(message), { ...fields, event: eventFields } as EventFields<typeof dataset>);
  }
  void log.close();
  return readFileSync(log.file, 'utf8').split('\n').filter((l) => l !== '');
}

describe('routing a line', () => {
  it('parses exactly as parseEcsLine does, on every dataset and on the shapes its fast path hands back', () => {
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
    for (const line of variants) expect(outcome(parseLine, line), line).toEqual(outcome(parseEcsLine, line));
  });

  it('sends a prediction under its own id and any other line under its stream and offset, to the daily index of its family', () => {
    const samples = sampleEvents();
    const opts = { prefix: 'mlmon', stream: 'AbCdEfGhIjKlMnOp', offset: 1234 };
    const prediction = routeLine(JSON.stringify(samples['mlmon.prediction']), opts);
    const day = samples['mlmon.prediction']['@timestamp'].slice(0, 10).replaceAll('-', '.');
    expect(prediction).toMatchObject({ ok: true, index: `mlmon-predictions-${day}`, id: samples['mlmon.prediction'].mlmon.prediction.id });
    expect(routeLine(JSON.stringify(samples['mlmon.drift']), opts)).toMatchObject({ ok: true, index: `mlmon-metrics-${day}`, id: 'AbCdEfGhIjKlMnOp-1234' });
    expect(routeLine('{"event": {"dataset": "mlmon.nope"}}', opts)).toEqual({ ok: false, reason: 'event.dataset: unknown dataset ("mlmon.nope")' });
  });
});
