import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DATASETS, EventValidationError, familyIndex, featureValues, indexForEvent, validateEvent, type Dataset } from '../src/index.js';
import { sampleEvents } from '../src/testing.js';

const datasets = Object.keys(DATASETS) as Dataset[];

describe('event schemas', () => {
  it.each(datasets)('accepts a valid %s event', (dataset) => {
    const event = sampleEvents()[dataset];
    expect(validateEvent(event).event.dataset).toBe(dataset);
  });

  it('covers every dataset the design names, and no other', () => {
    expect(datasets.sort()).toEqual(
      [
        'mlmon.alert',
        'mlmon.app',
        'mlmon.data_quality',
        'mlmon.drift',
        'mlmon.feedback',
        'mlmon.prediction',
        'mlmon.quality',
        'mlmon.remediation',
        'mlmon.resource',
        'nginx.access',
      ].sort(),
    );
  });

  const invalid: Array<[string, (e: ReturnType<typeof sampleEvents>) => unknown, string]> = [
    ['a string score', (e) => ({ ...e['mlmon.prediction'], mlmon: { ...e['mlmon.prediction'].mlmon, prediction: { ...e['mlmon.prediction'].mlmon.prediction, score: '0.9' } } }), 'mlmon.prediction.score'],
    ['a score above 1', (e) => ({ ...e['mlmon.prediction'], mlmon: { ...e['mlmon.prediction'].mlmon, prediction: { ...e['mlmon.prediction'].mlmon.prediction, score: 1.5 } } }), 'mlmon.prediction.score'],
    ['a fractional duration', (e) => ({ ...e['mlmon.prediction'], event: { ...e['mlmon.prediction'].event, duration: 1.5 } }), 'event.duration'],
    ['a missing replica', (e) => ({ ...e['mlmon.prediction'], service: { name: 'mlmon-api' } }), 'service.node'],
    ['a non-finite feature', (e) => ({ ...e['mlmon.prediction'], mlmon: { ...e['mlmon.prediction'].mlmon, prediction: { ...e['mlmon.prediction'].mlmon.prediction, features: { mean_radius: Infinity } } } }), 'mlmon.prediction.features.mean_radius'],
    ['a typo in a custom field', (e) => ({ ...e['mlmon.feedback'], mlmon: { ...e['mlmon.feedback'].mlmon, feedback: { true_label: 'benign', delay_ms: 1, truelabel: 'x' } } }), 'mlmon.feedback'],
    ['a bad timestamp', (e) => ({ ...e['mlmon.quality'], '@timestamp': 'yesterday' }), '@timestamp'],
    ['an unknown remediation', (e) => ({ ...e['mlmon.remediation'], mlmon: { remediation: { ...e['mlmon.remediation'].mlmon.remediation, action: 'reboot-the-world' } } }), 'mlmon.remediation.action'],
    ['an unknown dataset', (e) => ({ ...e['mlmon.app'], event: { dataset: 'mlmon.nope', kind: 'event' } }), 'event.dataset'],
  ];

  it.each(invalid)('rejects %s, naming the field', (_name, mutate, field) => {
    let error: unknown;
    try {
      validateEvent(mutate(sampleEvents()));
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(EventValidationError);
    expect((error as EventValidationError).field).toBe(field);
    expect((error as EventValidationError).message).toContain(field);
  });

  it('keeps unknown ECS fields outside the mlmon object', () => {
    const event = { ...sampleEvents()['mlmon.app'], process: { pid: 1, title: 'node' } };
    expect(validateEvent(event)).toMatchObject({ process: { title: 'node' } });
  });
});

describe('index routing', () => {
  it('routes by dataset to a daily index named by the event time', () => {
    const e = { ...sampleEvents()['mlmon.drift'], '@timestamp': '2026-03-04T23:59:59.999Z' };
    expect(indexForEvent('mlmon', e)).toBe('mlmon-metrics-2026.03.04');
    expect(familyIndex('x', 'predictions', new Date('2026-12-31T10:00:00+02:00'))).toBe('x-predictions-2026.12.31');
    // An offset stamp is routed by its UTC day.
    expect(indexForEvent('mlmon', { ...e, '@timestamp': '2026-03-05T01:30:00+02:00' })).toBe('mlmon-metrics-2026.03.04');
  });
});

describe('featureValues', () => {
  // What featureValues stands in for, see its comment: it must accept, refuse and point at the same things.
  const asRecord = z.object({ f: z.record(z.string().min(1), z.number()) });
  const asLoop = z.object({ f: featureValues });
  const answer = (schema: z.ZodType, f: unknown) => {
    const r = schema.safeParse({ f });
    return r.success ? 'ok' : r.error.issues.map((i) => `${i.path.join('.')}${i.code === 'invalid_type' ? `: ${i.message}` : ''}`).sort();
  };
  const value = fc.oneof(fc.double(), fc.integer(), fc.string(), fc.constant(null), fc.boolean(), fc.constant(undefined), fc.array(fc.integer()));
  // Not __proto__, in dictionaries nor in fc.anything()'s objects: z.record skips that key unchecked, featureValues
  // checks it like any other (below).
  const key = fc.oneof(fc.string().filter((k) => k !== '__proto__'), fc.constantFrom('', 'mean_radius', 'constructor'));

  it('answers like z.record(z.string().min(1), z.number()) for any input', () => {
    fc.assert(
      fc.property(fc.oneof(fc.dictionary(key, value), fc.anything({ key })), (f) => {
        expect(answer(asLoop, f)).toEqual(answer(asRecord, f));
      }),
      { numRuns: 2000 },
    );
  });

  it('names the feature that is not a finite number', () => {
    expect(answer(asLoop, { a: 1, b: Infinity, c: 'x', d: NaN })).toEqual([
      'f.b: Invalid input: expected number, received Infinity',
      'f.c: Invalid input: expected number, received string',
      'f.d: Invalid input: expected number, received NaN',
    ]);
    expect(answer(asLoop, JSON.parse('{"__proto__": "x"}'))).toEqual(['f.__proto__: Invalid input: expected number, received string']);
  });
});
