/**
 * Watcher's behaviour, carried over as facts from Elastic's own tests
 * (CompareConditionTests, ArrayCompareConditionTests, MustacheTests,
 * CustomMustacheFactoryTests, MustacheScriptEngineTests in elastic/elasticsearch)
 * and from the Watcher documentation. Each expectation is Watcher's answer.
 */
import { describe, expect, it } from 'vitest';
import { lenientCompare } from '../src/watcher/compare.js';
import { compareOp, evaluateCondition, quantify } from '../src/watcher/conditions.js';
import { WatcherDate, javaIsoString, parseDate, parseDateMath } from '../src/watcher/dates.js';
import { parseInterval, parseTimeValue } from '../src/watcher/duration.js';
import { executionId } from '../src/watcher/context.js';
import { parseWatch } from '../src/load.js';
import { acknowledge, emptyStatus } from '../src/watcher/status.js';
import { jsonEscape, renderJson, renderTemplate } from '../src/watcher/mustache.js';
import { evalPath } from '../src/watcher/object-path.js';
import type { CompareOp, Condition } from '../src/watcher/schema.js';

// array_compare's inferred type cannot express `path` beside operator keys; the literals below are valid watches.
const ac = (c: unknown) => c as Condition;

const op = (o: CompareOp, a: unknown, b: unknown) => compareOp(o, lenientCompare(a, b));
const meta = { name: 'n', description: 'd', severity: 'warning', runbook: 'docs/runbooks/x.md', threshold: 1, threshold_why: 'w', unit: 'u', window: '1m' };

describe('compare condition operators (CompareConditionTests)', () => {
  // [v1, v2, eq, not_eq, gt, gte, lt, lte]; null where Elastic's test has no case for that operator.
  const cases: Array<[unknown, unknown, boolean | null, boolean | null, boolean | null, boolean | null, boolean | null, boolean | null]> = [
    [null, null, true, false, null, null, null, null],
    [4, 3.0, false, true, true, true, false, false],
    [3, 3.0, true, false, false, true, false, true],
    [2, 3.0, false, true, false, false, true, true],
    [3, null, false, true, false, false, false, false],
    [2, '2', true, false, null, null, null, null],
    [3, '2', null, null, true, true, false, false],
    [3, '4', false, true, false, false, true, true],
    [3, 'a', false, true, false, false, true, true],
    ['3', 3, true, false, null, null, null, null],
    ['4', 3, null, null, true, true, false, false],
    ['a', 'aa', false, true, false, false, true, true],
    ['a', 'a', true, false, false, true, false, true],
    ['aa', 'ab', false, true, false, false, true, true],
    [{ k: 'v' }, { k: 'v' }, true, false, null, null, null, null],
    [{ k: 'v' }, { k1: 'v1' }, false, true, null, null, null, null],
    [['k', 'v'], ['k', 'v'], true, false, null, null, null, null],
    [['k', 'v'], ['k1', 'v1'], false, true, null, null, null, null],
    [NaN, 250000, false, true, false, false, false, false],
    [250000, NaN, false, true, false, false, false, false],
    [NaN, NaN, true, false, false, true, false, true],
  ];
  const ops: CompareOp[] = ['eq', 'not_eq', 'gt', 'gte', 'lt', 'lte'];
  for (const [v1, v2, ...expected] of cases) {
    ops.forEach((o, i) => {
      const want = expected[i];
      if (want === null || want === undefined) return;
      it(`${o}(${JSON.stringify(v1)}, ${JSON.stringify(v2)}) is ${want}`, () => expect(op(o, v1, v2)).toBe(want));
    });
  }
});

describe('array_compare quantifiers (ArrayCompareConditionTests)', () => {
  const cases: Array<[CompareOp, 'all' | 'some', unknown[], unknown, boolean]> = [
    ['eq', 'all', [1, 1], 1, true],
    ['eq', 'all', [1, 3], 2, false],
    ['eq', 'some', [1, 3], 1, true],
    ['eq', 'some', [1, 3], 2, false],
    ['not_eq', 'all', [1, 1], 3, true],
    ['not_eq', 'all', [1, 3], 1, false],
    ['not_eq', 'some', [1, 3], 1, true],
    ['not_eq', 'some', [1, 1], 1, false],
    ['gte', 'all', [1, 3], 1, true],
    ['gte', 'all', [1, 3], 2, false],
    ['gte', 'some', [1, 3], 2, true],
    ['gte', 'some', [1, 3], 4, false],
    ['gt', 'all', [1, 3], 0, true],
    ['gt', 'all', [1, 3], 1, false],
    ['gt', 'some', [1, 3], 2, true],
    ['gt', 'some', [1, 3], 4, false],
    ['lte', 'all', [1, 3], 3, true],
    ['lte', 'all', [1, 3], 0, false],
    ['lte', 'some', [1, 3], 3, true],
    ['lte', 'some', [1, 3], 0, false],
    ['lt', 'all', [1, 3], 4, true],
    ['lt', 'all', [1, 3], 3, false],
    ['lt', 'some', [1, 3], 2, true],
    ['lt', 'some', [1, 3], 0, false],
  ];
  for (const [o, q, values, value, want] of cases) {
    it(`${q} ${o} ${value} over ${JSON.stringify(values)} is ${want}`, () => expect(quantify(q, values, value, o)).toBe(want));
  }
  for (const o of ['eq', 'not_eq', 'gt', 'gte', 'lt', 'lte'] as const) {
    it(`${o} over an empty array: all is true, some is false`, () => {
      expect(quantify('all', [], 1, o)).toBe(true);
      expect(quantify('some', [], 1, o)).toBe(false);
    });
  }

  it('resolves `path` inside each element (testExecutePath)', () => {
    const counts = [3, 7, 1];
    const ctx = { payload: { value: counts.map((doc_count) => ({ doc_count })) } };
    for (const o of ['eq', 'not_eq', 'gt', 'gte', 'lt', 'lte'] as const) {
      for (const q of ['all', 'some'] as const) {
        const r = evaluateCondition(ac({ array_compare: { 'ctx.payload.value': { path: 'doc_count', [o]: { value: 3, quantifier: q } } } }), { ctx }, Date.now());
        expect(r.met).toBe(quantify(q, counts, 3, o));
      }
    }
  });

  it('a path that is not an array is an error; a missing one is an empty array', () => {
    const cond = ac({ array_compare: { 'ctx.payload.value': { path: '', gt: { value: 1, quantifier: 'some' } } } });
    expect(() => evaluateCondition(cond, { ctx: { payload: { value: 5 } } }, Date.now())).toThrow('array path ctx.payload.value did not evaluate to array, was 5');
    expect(evaluateCondition(cond, { ctx: { payload: {} } }, Date.now()).met).toBe(false);
  });

  it('date math values: every element newer than now-1d (testExecuteDateMath)', () => {
    const now = Date.parse('2024-03-01T12:00:00Z');
    const values = [1, 2, 3].map((s) => new WatcherDate(now + s * 1000));
    const met = (o: CompareOp, q: 'all' | 'some') =>
      evaluateCondition(ac({ array_compare: { 'ctx.payload.value': { path: '', [o]: { value: '<{now-1d}>', quantifier: q } } } }), { ctx: { payload: { value: values } } }, now).met;
    for (const q of ['all', 'some'] as const) {
      for (const o of ['gt', 'gte', 'not_eq'] as const) expect(met(o, q)).toBe(true);
      for (const o of ['lt', 'lte', 'eq'] as const) expect(met(o, q)).toBe(false);
    }
  });
});

describe('compare condition values', () => {
  const now = Date.parse('2024-03-01T12:00:00Z');
  it('a date math value compares as a date (testExecuteDateMath)', () => {
    const cond = (o: CompareOp) => ({ compare: { 'ctx.payload.value': { [o]: '<{now-1d}>' } } });
    const ctx = { payload: { value: new WatcherDate(now) } };
    for (const o of ['gt', 'gte', 'not_eq'] as const) expect(evaluateCondition(cond(o), { ctx }, now).met).toBe(true);
    for (const o of ['lt', 'lte', 'eq'] as const) expect(evaluateCondition(cond(o), { ctx }, now).met).toBe(false);
  });

  it('an observed ISO string or epoch millis compares with a date math value', () => {
    const r = (value: unknown) => evaluateCondition({ compare: { 'ctx.payload.last': { lt: '<{now-5m}>' } } }, { ctx: { payload: { last: value } } }, now);
    expect(r('2024-03-01T11:50:00.000Z').met).toBe(true);
    expect(r(Date.parse('2024-03-01T11:50:00Z')).met).toBe(true);
    expect(r('2024-03-01T11:58:00Z').met).toBe(false);
    expect(r(null).met).toBe(false);
    expect(r('not a date').met).toBe(false);
  });

  it('a {{path}} value resolves into ctx (testExecutePath)', () => {
    const ctx = { payload: { value: { any: 'object' }, limit: 5, seen: 7 }, metadata: { threshold: 6 } };
    expect(evaluateCondition({ compare: { 'ctx.payload.value': { eq: '{{ctx.payload.value}}' } } }, { ctx }, now).met).toBe(true);
    expect(evaluateCondition({ compare: { 'ctx.payload.value': { not_eq: '{{ctx.payload.value}}' } } }, { ctx }, now).met).toBe(false);
    const r = evaluateCondition({ compare: { 'ctx.payload.seen': { gt: '{{ctx.metadata.threshold}}' } } }, { ctx }, now);
    expect(r).toMatchObject({ met: true, observed: 7, threshold: 6, resolved_values: { 'ctx.metadata.threshold': 6, 'ctx.payload.seen': 7 } });
  });

  it('always and never', () => {
    expect(evaluateCondition({ always: {} }, {}, now).met).toBe(true);
    expect(evaluateCondition({ never: {} }, {}, now).met).toBe(false);
  });
});

describe('paths (ObjectPath)', () => {
  const doc = { a: { b: [{ c: 1 }, { c: 2 }] }, 'x.y': 3 };
  it('walks maps and lists, a missing or non-numeric list segment is null', () => {
    expect(evalPath('a.b.1.c', doc)).toBe(2);
    expect(evalPath('a.b.5.c', doc)).toBe(null);
    expect(evalPath('a.b.c', doc)).toBe(null);
    expect(evalPath('', doc)).toBe(doc);
    expect(evalPath('x.y', doc)).toBe(null);
  });
});

describe('date math (UTC, as Watcher evaluates it)', () => {
  const now = Date.parse('2024-03-06T15:42:17.250Z'); // a Wednesday
  const at = (e: string) => new Date(parseDateMath(e, now).ms).toISOString();
  it.each([
    ['now', '2024-03-06T15:42:17.250Z'],
    ['now-5m', '2024-03-06T15:37:17.250Z'],
    ['now+1h', '2024-03-06T16:42:17.250Z'],
    ['now/d', '2024-03-06T00:00:00.000Z'],
    ['now-1d/d', '2024-03-05T00:00:00.000Z'],
    ['now/w', '2024-03-04T00:00:00.000Z'],
    ['now/M', '2024-03-01T00:00:00.000Z'],
    ['now-1M', '2024-02-06T15:42:17.250Z'],
    ['now/y', '2024-01-01T00:00:00.000Z'],
    ['now/m', '2024-03-06T15:42:00.000Z'],
    ['2024-01-31||+1M', '2024-03-02T00:00:00.000Z'],
    ['2024-01-31T10:00:00Z||/d', '2024-01-31T00:00:00.000Z'],
  ])('%s', (expr, want) => expect(at(expr)).toBe(want));
  it('refuses what it cannot read', () => expect(() => parseDateMath('now-5x', now)).toThrow('cannot parse "-5x"'));
});

describe('throttle periods and timeouts (WatcherDateTimeUtilsTests.testParseTimeValueWithFractional)', () => {
  it.each([
    ['10 ms', 10],
    ['10ms', 10],
    ['10 MS', 10],
    ['10MS', 10],
    ['10 s', 10_000],
    ['10S', 10_000],
    ['0.1s', 100],
    ['10 m', 600_000],
    ['10M', 600_000],
    ['10H', 36_000_000],
    ['10 D', 864_000_000],
    ['10w', 6_048_000_000],
    ['10 W', 6_048_000_000],
    ['0.1m', 6000],
    ['0.1h', 360_000],
    ['0.1d', 8_640_000],
    ['0.1w', 60_480_000],
    ['1.7s', 1700],
    ['2.7m', 162_000],
    ['99.8h', 359_280_000],
    ['12.245d', 1_057_968_000],
    ['12.001w', 7_258_204_799],
    // "0" is the one bare number parseTimeValueSupportingFractional allows.
    ['0', 0],
  ])('%s is %d ms', (d, ms) => expect(parseTimeValue(d)).toBe(ms));
  it('refuses a bare number, an unknown unit and a negative value (testParseTimeValueNumeric, parseTimeValue)', () => {
    expect(() => parseTimeValue('300', 'throttle_period')).toThrow('throttle_period: "300" is not a duration');
    expect(() => parseTimeValue('5 minutes', 'throttle_period')).toThrow('throttle_period: "5 minutes" is not a duration');
    expect(() => parseTimeValue('10micros')).toThrow('is not a duration');
    // "-1" parses, then WatcherDateTimeUtils.parseTimeValue refuses it: "Time value cannot be negative".
    expect(() => parseTimeValue('-1', 'throttle_period')).toThrow('throttle_period: "-1": a duration cannot be negative');
  });
  it('a watch with a bare-number throttle period does not load', () => {
    const body = { trigger: { schedule: { interval: '1m' } }, input: { simple: {} }, condition: { always: {} }, actions: { log: { throttle_period: '300', logging: { text: 'x' } } }, metadata: meta };
    expect(() => parseWatch('bare', body, {})).toThrow(/actions\.log\.throttle_period.*"300" is not a duration/);
  });
});

describe('schedule intervals (IntervalScheduleTests)', () => {
  it('a number is seconds, a string an integer with a lower-case unit (testParseNumber, testParseString)', () => {
    expect(parseInterval(300)).toBe(300_000);
    expect(parseInterval('30s')).toBe(30_000);
    expect(parseInterval('5m')).toBe(300_000);
    expect(parseInterval('2h')).toBe(7_200_000);
    expect(parseInterval('1d')).toBe(86_400_000);
    expect(parseInterval('1w')).toBe(604_800_000);
  });
  it('"43S" is not an interval (testParseInvalidString); nor a bare string number, milliseconds or a fraction', () => {
    for (const bad of ['43S', '5M', '300', '500ms', '1.5m']) expect(() => parseInterval(bad), bad).toThrow(`unrecognized interval format [${bad}]`);
  });
  it('at least one second (testParseNegativeNumber)', () => {
    expect(() => parseInterval('0s')).toThrow("interval can't be lower than 1000 ms, but [0s] was specified");
    expect(() => parseInterval(-5)).toThrow("interval can't be lower than 1000 ms, but");
  });
});

describe('dates Watcher compares and records (WatcherDateTimeUtils: strict_date_optional_time||epoch_millis)', () => {
  const iso = (t: string) => {
    const d = parseDate(t);
    return d && new Date(d.ms).toISOString();
  };
  it('reads ISO dates with optional time (zone-less is UTC) and epoch-millis strings', () => {
    expect(iso('2024-05-01T10:00Z')).toBe('2024-05-01T10:00:00.000Z');
    expect(iso('2024-05-01')).toBe('2024-05-01T00:00:00.000Z');
    expect(iso('2024-05-01T10:00:00.123456Z')).toBe('2024-05-01T10:00:00.123Z');
    expect(iso('2024-05-01T12:00:00+02:00')).toBe('2024-05-01T10:00:00.000Z');
    expect(iso('1714557600000')).toBe('2024-05-01T10:00:00.000Z');
  });
  it('a space between date and time is neither format, so the value is not a date', () => {
    expect(parseDate('2024-05-01 10:00:00')).toBe(null);
    expect(parseDate('2024-02-30')).toBe(null);
    // Not a date, so not comparable with a date: every operator false, not_eq true.
    const r = (o: CompareOp) => evaluateCondition({ compare: { 'ctx.payload.t': { [o]: '<{now-1d}>' } } }, { ctx: { payload: { t: '2024-05-01 10:00:00' } } }, Date.parse('2024-05-01T10:00:00Z')).met;
    expect(r('gte')).toBe(false);
    expect(r('not_eq')).toBe(true);
  });
  it('date math anchored on an epoch-millis string', () => {
    expect(new Date(parseDateMath('1714557600000||-5m', 0).ms).toISOString()).toBe('2024-05-01T09:55:00.000Z');
  });
  it('date math keeps milliseconds: "executed within the last five minutes" (condition-compare docs)', () => {
    // https://www.elastic.co/guide/en/elasticsearch/reference/8.13/condition-compare.html: ctx.execution_time gte <{now-5m}>.
    const cond = { compare: { 'ctx.execution_time': { gte: '<{now-5m}>' } } };
    const ctx = { execution_time: new WatcherDate(Date.parse('2024-05-01T10:00:00.000Z')) };
    expect(evaluateCondition(cond, { ctx }, Date.parse('2024-05-01T10:05:00.000Z')).met).toBe(true);
    expect(evaluateCondition(cond, { ctx }, Date.parse('2024-05-01T10:05:00.001Z')).met).toBe(false);
    // The record keeps the resolved date as Watcher writes dates into JSON: with milliseconds.
    const r = evaluateCondition(cond, { ctx }, Date.parse('2024-05-01T10:07:31.250Z'));
    expect(r.resolved_values).toMatchObject({ 'now-5m': '2024-05-01T10:02:31.250Z' });
    const whole = evaluateCondition({ compare: { 'ctx.execution_time': { gte: '<{now/m}>' } } }, { ctx }, Date.parse('2024-05-01T10:07:31.250Z'));
    expect(whole.resolved_values).toMatchObject({ 'now/m': '2024-05-01T10:07:00.000Z' });
  });
  it('execution ids end with the execution time in ISO_DATE_TIME (Wid): seconds kept, fraction zeros trimmed', () => {
    expect(executionId('w', 'u', Date.parse('2024-05-01T10:00:30.120Z'))).toBe('w_u-2024-05-01T10:00:30.12Z');
    expect(executionId('w', 'u', Date.parse('2024-05-01T10:00:00.000Z'))).toBe('w_u-2024-05-01T10:00:00Z');
  });
});

describe('array_compare defaults (condition-array-compare docs, ArrayCompareCondition.parse)', () => {
  // The docs' example states neither a quantifier nor needs one: "returns true if there is at least one bucket in the
  // aggregation that has a doc_count greater than or equal to 25" (quantifier defaults to some).
  const docsExample = { array_compare: { 'ctx.payload.aggregations.top_tweeters.buckets': { path: 'doc_count', gte: { value: 25 } } } };
  const buckets = (...counts: number[]) => ({ ctx: { payload: { aggregations: { top_tweeters: { buckets: counts.map((doc_count) => ({ doc_count })) } } } } });
  it('quantifier defaults to some', () => {
    expect(evaluateCondition(ac(docsExample), buckets(10, 30), 0).met).toBe(true);
    expect(evaluateCondition(ac(docsExample), buckets(10, 20), 0).met).toBe(false);
  });
  it('path defaults to "" (each element itself)', () => {
    const cond = ac({ array_compare: { 'ctx.payload.values': { gt: { value: 2, quantifier: 'all' } } } });
    expect(evaluateCondition(cond, { ctx: { payload: { values: [3, 4] } } }, 0).met).toBe(true);
    expect(evaluateCondition(cond, { ctx: { payload: { values: [3, 1] } } }, 0).met).toBe(false);
  });
  it('a watch without them loads, with the defaults filled in for Watcher', () => {
    const w = parseWatch('defaults', { trigger: { schedule: { interval: '1m' } }, input: { simple: {} }, condition: docsExample, actions: {}, metadata: meta }, {});
    expect(w.body.condition).toEqual({ array_compare: { 'ctx.payload.aggregations.top_tweeters.buckets': { path: 'doc_count', gte: { value: 25, quantifier: 'some' } } } });
  });
});

describe('acknowledging (watcher-api-ack-watch docs, TransportAckWatchAction)', () => {
  const ackable = () => {
    const status = emptyStatus();
    for (const id of ['a', 'b']) status.actions[id] = { ack: { state: 'ackable', timestamp: '2024-05-01T10:00:00.000Z' } };
    return status;
  };
  it('no action ids, or _all among them, acknowledges every action', () => {
    const all = ackable();
    expect(acknowledge(all, ['_all'], '2024-05-01T10:01:00.000Z')).toEqual(['a', 'b']);
    expect(all.actions.b!.ack).toEqual({ state: 'acked', timestamp: '2024-05-01T10:01:00.000Z' });
    expect(acknowledge(ackable(), [], '2024-05-01T10:01:00.000Z')).toEqual(['a', 'b']);
    expect(acknowledge(ackable(), ['b', 'nope'], '2024-05-01T10:01:00.000Z')).toEqual(['b']);
  });
  it('acking again leaves the first ack timestamp (ActionStatus.onAck)', () => {
    const s = ackable();
    acknowledge(s, ['a'], '2024-05-01T10:01:00.000Z');
    expect(acknowledge(s, ['a'], '2024-05-01T10:02:00.000Z')).toEqual([]);
    expect(s.actions.a!.ack).toEqual({ state: 'acked', timestamp: '2024-05-01T10:01:00.000Z' });
  });
});

describe('mustache rendering (MustacheTests, CustomMustacheFactoryTests)', () => {
  it('replaces a parameter inside a JSON body', () => {
    const t = '{"query": {"boosting": {"negative_boost": {{boost_val}} } }}';
    expect(renderTemplate(t, { boost_val: '0.2' }, 'json')).toBe('{"query": {"boosting": {"negative_boost": 0.2 } }}');
  });
  it('JSON content escapes strings (testJsonEscapeEncoder); plain text does not (testDefaultEncoder)', () => {
    expect(renderTemplate('{"field": "{{value}}"}', { value: 'a "value"' }, 'json')).toBe('{"field": "a \\"value\\""}');
    expect(renderTemplate('{"field": "{{value}}"}', { value: 'a "value"' }, 'text')).toBe('{"field": "a "value""}');
    expect(renderTemplate('__json__::{"field": "{{value}}"}', { value: 'a "value"' }, 'text')).toBe('{"field": "a \\"value\\""}');
  });
  it('escapes newlines, backslashes and control characters as JSON (testEscapeJson)', () => {
    expect(jsonEscape('hello \n world')).toBe('hello \\n world');
    expect(jsonEscape('\\')).toBe('\\\\');
    expect(jsonEscape('\u0000\u0001\u001F')).toBe('\\u0000\\u0001\\u001F');
  });
  it('the url function form-encodes (testUrlEncoder)', () => {
    expect(renderTemplate('{"field": "{{#url}}{{value}}{{/url}}"}', { value: 'tilde~ AND date:[2016 FROM*]' })).toBe('{"field": "tilde%7E+AND+date%3A%5B2016+FROM*%5D"}');
  });
  it('indexes lists and reads their size (testArrayAccess, testSizeAccessForCollectionsAndArrays)', () => {
    expect(renderTemplate('{{data.0}} {{data.1}}', { data: ['foo', 'bar'] })).toBe('foo bar');
    expect(renderTemplate('{{data.0.0}} {{data.0.1}}', { data: [['foo', 'bar']] })).toBe('foo bar');
    expect(renderTemplate('{{data.0.key}} {{data.1.key}}', { data: [{ key: 'foo' }, { key: 'bar' }] })).toBe('foo bar');
    expect(renderTemplate('{{data.list.size}}', { data: { list: ['a', 'b', 'c'] } })).toBe('3');
  });
  it('toJson of primitives (testPrimitiveToJSON)', () => {
    const t = '{{#toJson}}ctx{{/toJson}}';
    expect(renderTemplate(t, { ctx: 'value' })).toBe('value');
    expect(renderTemplate(t, { ctx: '' })).toBe('');
    expect(renderTemplate(t, { ctx: true })).toBe('true');
    expect(renderTemplate(t, { ctx: 42 })).toBe('42');
    expect(renderTemplate(t, { ctx: 42.5 })).toBe('42.5');
    expect(renderTemplate(t, { ctx: null })).toBe('');
    expect(renderTemplate('{{#toJson}}.{{/toJson}}', { ctx: 'value' })).toBe('{"ctx":"value"}');
    expect(renderTemplate('{{#toJson}}.{{/toJson}}', { ctx: 42 })).toBe('{"ctx":42}');
    expect(renderTemplate('{{#toJson}}.{{/toJson}}', { ctx: null })).toBe('{"ctx":null}');
  });
  it('toJson of maps and lists (testSimpleMapToJSON, testSimpleListToJSON, testEmbeddedToJSON)', () => {
    const human = { name: 'John Smith', age: 42, height: 1.84 };
    expect(JSON.parse(renderTemplate('{{#toJson}}ctx{{/toJson}}', { ctx: human }))).toEqual(human);
    expect(renderTemplate('{{#toJson}}ctx.name{{/toJson}}', { ctx: human })).toBe('John Smith');
    const list = ['one', 'two', 'three'];
    expect(renderTemplate('{{#toJson}}ctx{{/toJson}}', { ctx: list })).toBe('["one","two","three"]');
    expect(renderTemplate('{{#toJson}}ctx.1{{/toJson}}', { ctx: list })).toBe('two');
    expect(renderTemplate('{{#toJson}}ctx.size{{/toJson}}', { ctx: list })).toBe('3');
    const bulks = { bulks: [{ index: 'index-1', id: 1 }, { index: 'index-2', id: 2 }] };
    expect(renderTemplate('{{#ctx.bulks}}<{{#toJson}}id{{/toJson}}>{{/ctx.bulks}}', { ctx: bulks })).toBe('<1><2>');
    expect(renderTemplate('{{#ctx.bulks}}{{#toJson}}.{{/toJson}}{{/ctx.bulks}}', { ctx: bulks })).toBe('{"index":"index-1","id":1}{"index":"index-2","id":2}');
  });
  it('toJson and join need exactly one identifier (testsUnsupportedTagsToJson, testsUnsupportedTagsJoin)', () => {
    expect(() => renderTemplate('{{#toJson}}{{/toJson}}', {})).toThrow('Mustache function [toJson] must contain one and only one identifier');
    expect(() => renderTemplate('{{#join}}{{/join}}', {})).toThrow('Mustache function [join] must contain one and only one identifier');
  });
  it('join (testSimpleArrayJoin, testEmbeddedArrayJoin, testJoinWithToJson, testJoinWithCustomDelimiter)', () => {
    expect(renderTemplate('{{#join}}array{{/join}}', { array: ['one', 'two', 'three'] })).toBe('one,two,three');
    expect(renderTemplate('{{#join}}array{{/join}}', { array: [1.5, 2.5, 3.5] })).toBe('1.5,2.5,3.5');
    expect(renderTemplate('{{#join}}array{{/join}}', { array: [true, false, true] })).toBe('true,false,true');
    const people = { people: [{ emails: ['john@smith.com', 'jsmith@email.com'] }, { emails: ['john@doe.com', 'jdoe@email.com'] }] };
    expect(renderTemplate('{{#join}}ctx.people.1.emails{{/join}}', { ctx: people })).toBe('john@doe.com,jdoe@email.com');
    expect(renderTemplate('{{#ctx.people}}to: {{#join}}emails{{/join}};{{/ctx.people}}', { ctx: people })).toBe('to: john@smith.com,jsmith@email.com;to: john@doe.com,jdoe@email.com;');
    expect(renderTemplate('{{#join}}{{#toJson}}terms{{/toJson}}{{/join}}', { terms: [{ term: 'foo' }, { term: 'bar' }] })).toBe('[{"term":"foo"},{"term":"bar"}]');
    const params = { params: [1, 2, 3, 4] };
    expect(renderTemplate("{{#join delimiter=''}}params{{/join delimiter=''}}", params)).toBe('1234');
    expect(renderTemplate("{{#join delimiter='/'}}params{{/join delimiter='/'}}", params)).toBe('1/2/3/4');
    expect(renderTemplate("{{#join delimiter=' and '}}params{{/join delimiter=' and '}}", params)).toBe('1 and 2 and 3 and 4');
  });
  it('maps and lists print as Java prints them; dates as java.time does', () => {
    expect(renderTemplate('{{m}} {{l}}', { m: { a: 1, b: 'x' }, l: [1, 2] })).toBe('{a=1, b=x} [1, 2]');
    expect(javaIsoString(Date.parse('2015-05-23T13:26:00Z'))).toBe('2015-05-23T13:26Z');
    expect(javaIsoString(Date.parse('2015-05-23T13:26:19Z'))).toBe('2015-05-23T13:26:19Z');
    expect(javaIsoString(Date.parse('2015-05-23T13:26:19.120Z'))).toBe('2015-05-23T13:26:19.120Z');
    expect(renderTemplate('{{ctx.t}}', { ctx: { t: new WatcherDate(Date.parse('2015-05-23T13:26:19.5Z')) } })).toBe('2015-05-23T13:26:19.500Z');
  });
  it('renders a search body with the execution context and keeps its JSON', () => {
    const body = { query: { range: { '@timestamp': { gte: '{{ctx.trigger.scheduled_time}}||-{{ctx.metadata.window}}' } } }, size: '{{ctx.metadata.n}}' };
    const ctx = { trigger: { scheduled_time: new WatcherDate(Date.parse('2024-01-01T10:05:00Z')) }, metadata: { window: '5m', n: 3 } };
    expect(renderJson(body, { ctx })).toEqual({ query: { range: { '@timestamp': { gte: '2024-01-01T10:05Z||-5m' } } }, size: '3' });
  });
});
